import type { ClientFrame, Grants, PeerMessageState, ServerFrame } from '@plaza/protocol'
import type { OutgoingBody, SendResult } from '../delivery/outbox.js'
import type { ReceivedMessage } from '../types.js'
import type { ChannelAttributes } from './channel-doc.js'
import type { OverlayHost, OverlayKeyPair, OverlayMessage } from './channel-overlay.js'

/** A channel's events, its answers, and what it needs of the client around it. */

export interface ChannelEvents extends Record<string, unknown[]> {
  ChannelMessage: [message: ReceivedMessage, memberId: string]
  MemberJoined: [memberId: string]
  MemberLeft: [memberId: string]
  MemberCountUpdated: [memberCount: number]
  AttributesUpdated: [attributes: ChannelAttributes]
  /** A member's role or mute changed (or became known); `memberId` may be this user. */
  MemberStateChanged: [memberId: string, state: MemberState]
  /** A moderator removed this user from the channel: it is left; joining again is refused for a while. */
  RemovedFromChannel: []
}

/** A member's standing, from the node: its role (from its token; '' for none) and whether it is muted. */
export interface MemberState {
  role: string
  muted: boolean
  /** False when muted, or when its token does not allow publishing here: its channel messages are dropped. */
  mayPublish: boolean
}

/**
 * What `channel.sendMessage` resolves with, once every member's copy has settled or 10 s have
 * passed. A copy not confirmed by then counts as SENT_TIMEOUT (unknown) and is still kept for
 * 30 s in all, so a member that drops out and comes back within that time still gets it.
 */
export interface ChannelSendResult {
  /** Members it was addressed to: everyone in the channel but the sender, when it was sent. */
  members: number
  /** How many of them confirmed that their app got it. */
  received: number
  /** Members whose copy did not arrive, or was not confirmed in time (SENT_TIMEOUT: unknown). */
  failures: { memberId: string; state: PeerMessageState }[]
  /**
   * Members reached without confirmation: above 512 members the node hands one copy to every
   * member's session and nobody acknowledges it.
   */
  unconfirmed: number
  /**
   * Above the overlay threshold: members outside the overlay whose copy the node did not take
   * (not connected, or refused: TOO_OFTEN, over budget). They do not get this message.
   */
  outsideNotSent?: number
}

/** What a channel needs from its client. */
export interface ChannelHost {
  readonly uid: string
  readonly requestTimeoutMs: number
  request(build: (reqId: number) => ClientFrame): Promise<ServerFrame>
  /** Sends to the node now; false when not connected. */
  sendToNode(frame: ClientFrame): boolean
  /** One copy per member over the mesh or the relay; throws TOO_OFTEN over the client's limit. */
  sendChannelCopies(members: string[], body: OutgoingBody | ((member: string) => OutgoingBody), size: number): Promise<{ member: string; result: SendResult }[]>
  /**
   * One message (seq of a broadcast stream) the node fans out to every member (large channels),
   * or only to the members outside the overlay (the copy of an overlay message). `count`: take a
   * message token (throws TOO_OFTEN over the limit) — not for a copy of a message already counted.
   */
  broadcast(channel: string, body: OutgoingBody, stream: string, seq: number, audience: 'all' | 'outside', count: boolean): Promise<void>
  /** Sends awareness over the open direct link to `uid`, if any. */
  sendAwarenessDirect(uid: string, channel: string, payload: Uint8Array): boolean
  /** The channel no longer involves `uid` (left, or we left): drop pending copies. */
  dropMember(channel: string, uid: string | null): void
  checkAttributeWriteRate(): void
  /** What the user's token allows. */
  readonly grants: Grants
  /** The app released the channel: the client forgets it. */
  forgetChannel(channel: string): void
  loadCache(channel: string): Promise<Uint8Array | undefined>
  saveCache(channel: string, produce: () => Uint8Array | null): void
  /** Channels above the threshold pass messages member to member (PROTOCOL.md, "Channel overlay"). */
  readonly overlay: ChannelOverlayHost
}

/** What a channel's overlay needs of the client. */
export interface ChannelOverlayHost extends OverlayHost {
  readonly threshold: number
  /** This client's key pair, made on first use (a promise only then); null when it cannot take part (no Ed25519, direct links off). */
  prepareKeys(): OverlayKeyPair | null | Promise<OverlayKeyPair | null>
  keys(): OverlayKeyPair | null
  nodeKey(): Uint8Array | null
  /** Throws TOO_OFTEN past the client's message rate. */
  takeMessageToken(): void
  toReceived(origin: string, channel: string, m: OverlayMessage): ReceivedMessage | null
}

