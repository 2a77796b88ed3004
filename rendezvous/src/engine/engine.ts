import type { AttributeEntry, ErrorCode, PeerOnlineState } from '@plaza/protocol'
import type { DocStore } from '../store/doc-store.js'
import type { OfflineStore } from '../store/offline-store.js'
import type { ModerationStore } from '../store/moderation-store.js'

/** Where a user's one session lives, and what others may learn of it. */
export interface SessionRecord {
  sessionId: string
  nodeId: string
  /** ONLINE or UNREACHABLE while the session lives. */
  presence: PeerOnlineState
  /** The address it connected from ('' if unknown): for address bans. */
  address: string
}

/** What `Engine.deliverIfConnected` did: see there. */
export type Reach = 'delivered' | 'away' | 'none'

/** A channel member as the node admitted it: what the others are told of its standing. */
export interface MemberRecord {
  uid: string
  sessionId: string
  /** The role its token gives it ('' for none). */
  role: string
  /** Whether its token lets it publish in this channel (a mute is apart from this). */
  publishGrant: boolean
  /** Outside the channel's overlay: joined without an overlay key (an older client, or one without direct links or Ed25519). */
  outside?: boolean
}

/** Which members of a channel a frame goes to. */
export type ChannelAudience = 'all' | 'outside' | 'overlay'

/** Members outside a channel's overlay; `version` grows with every change on every node, so the newest count wins. */
export interface OutsideCount {
  count: number
  version: number
}

/** Something a node is asked to do to one of its sessions on another's behalf. */
export type SessionCommand =
  /** End it: a newer login took its place, or a moderator ended it. */
  | { kind: 'end'; code: ErrorCode; message: string }
  /** Take it out of a channel, as a moderator's removal does. */
  | { kind: 'leave'; channel: string }
  /** Messages were stored for it: hand them over. */
  | { kind: 'offline' }
  /** A callee's frame about one of this session's invitations, from the callee's node (see Invitations). */
  | { kind: 'invite'; from: string; frame: InviteReply }

/** What a callee says about an invitation, passed to the caller's node. */
export type InviteReply =
  | { type: 'ack'; id: string }
  | { type: 'answer'; id: string; reqId: number; accept: boolean; response: string }
  /** The callee resynchronised: the caller's node tells it again where the invitation stands. */
  | { type: 'sync'; id: string }

/** What the engine hands to the node that opened it: frames and commands for its sessions. */
export interface EngineSink {
  /** A frame for a session of this node (dropped if the node no longer has it). */
  frame(sessionId: string, frame: Uint8Array): void
  command(sessionId: string, cmd: SessionCommand): void
  /** A message for every node (see Engine.toNodes). */
  nodeMessage(message: Uint8Array): void
  /**
   * A session whose node died and that did not come back on another node within the offline
   * window: this node ends it for the deployment (its channels, presence, attributes). Resolves
   * when done; the engine then forgets it.
   */
  orphaned(session: OrphanedSession): Promise<void>
}

/** What is known of a dead node's session (see EngineSink.orphaned). */
export interface OrphanedSession {
  appId: string
  uid: string
  sessionId: string
  /** The channels it was in. */
  channels: string[]
}

/** What users can follow about another user. */
export type Topic = 'presence' | 'attributes'

/**
 * Where nodes keep what users share: who is online and on which node, who follows whom,
 * channel membership, how a frame reaches a user, and the durable stores. In the manner of
 * Socket.IO's adapters: the in-process engine is the working default for one node; an engine
 * for many nodes (Redis) implements the same contract, and the node's code does not change.
 *
 * The contract:
 * - Every method is asynchronous and exchanges data, never live objects. A node holds its own
 *   sessions; the engine knows them by id and hands their frames and commands to the node's
 *   sink (`open`).
 * - Calls made one after another by one node take effect in that order (a node may issue a
 *   delivery and not wait for it, and the next delivery to the same user still lands after it).
 * - `register` makes a session the one session of its uid in its app on every node: an older
 *   one, wherever it is, gets the command to end with REMOTE_LOGIN. `unregister` forgets it
 *   (and its subscriptions, attributes and contacts) only if it is still the registered one.
 * - `deliver` hands a frame to the uid's session wherever it is held and says whether there
 *   was one; `publish` reaches every session following the topic on any node;
 *   `sendToChannel` every member on any node.
 */
export interface Engine {
  /** This node's id in the deployment. */
  readonly nodeId: string
  /** Other nodes may share this engine's state (false for the in-process engine: nothing to tell them). */
  readonly shared: boolean
  readonly offline: OfflineStore
  readonly docs: DocStore
  /** Bans, removals from channels and mutes. */
  readonly moderation: ModerationStore
  open(sink: EngineSink): Promise<void>
  close(): Promise<void>

  // ---- sessions and presence ----
  /** Makes the session its uid's one session; returns the record it replaced, if any. */
  register(appId: string, uid: string, sessionId: string, address: string): Promise<SessionRecord | null>
  /** Forgets the session if it is still its uid's; true when the uid is left with no session. */
  unregister(appId: string, uid: string, sessionId: string): Promise<boolean>
  session(appId: string, uid: string): Promise<SessionRecord | null>
  setPresence(appId: string, uid: string, sessionId: string, presence: PeerOnlineState): Promise<void>
  presenceOf(appId: string, uids: string[]): Promise<PeerOnlineState[]>
  /** Hands an encoded frame to the uid's session; false when the uid has none. */
  deliver(appId: string, uid: string, frame: Uint8Array): Promise<boolean>
  /**
   * Hands the frame over only if the uid's session is connected: 'away' (not handed over) when
   * it has a session that is not — its connection dropped, it has been silent past the
   * unreachable threshold, or its node died — 'none' when it has no session.
   */
  deliverIfConnected(appId: string, uid: string, frame: Uint8Array): Promise<Reach>
  /**
   * deliver and deliverIfConnected at once, from an engine that holds every session itself (the
   * embedded one): the relay then handles a frame without a promise. Absent where delivery waits
   * for another process (Redis); calls mixed with the asynchronous ones keep their order.
   */
  readonly deliverNow?: (appId: string, uid: string, frame: Uint8Array) => boolean
  readonly deliverIfConnectedNow?: (appId: string, uid: string, frame: Uint8Array) => Reach
  /** The session's connection dropped (false), or it is connected (true: it resumed, or the node finds it connected). */
  setConnected(appId: string, uid: string, sessionId: string, connected: boolean): Promise<void>
  /** Sends a command to the uid's session; false when the uid has none. */
  command(appId: string, uid: string, cmd: SessionCommand): Promise<boolean>
  /** Hands a message to every node's sink, this one's included (e.g. an acknowledgement a REST call on some node waits for). */
  toNodes(message: Uint8Array): Promise<void>

  // ---- what lives with a session ----
  setUserAttributes(appId: string, uid: string, sessionId: string, attrs: AttributeEntry[]): Promise<void>
  /** The uid's attributes, or null when it has no session. */
  userAttributes(appId: string, uid: string): Promise<AttributeEntry[] | null>
  /** Notes that `from` sent `to` a peer message through a node (half of a contact; the newest 1024 kept). */
  noteSent(appId: string, from: string, to: string): Promise<void>
  /** Whether both have sent each other a peer message during their current sessions. */
  areContacts(appId: string, a: string, b: string): Promise<boolean>

  // ---- subscriptions ----
  subscribe(appId: string, sessionId: string, topic: Topic, uids: string[]): Promise<void>
  unsubscribe(appId: string, sessionId: string, topic: Topic, uids: string[]): Promise<void>
  /** Everyone subscribed to `topic` of `uid` gets `frame`. */
  publish(topic: Topic, appId: string, uid: string, frame: Uint8Array): Promise<void>

  // ---- channels ----
  /** Adds the member; returns the member count after. */
  joinChannel(appId: string, channel: string, member: MemberRecord): Promise<number>
  /** Removes the member if that session is it; returns the member count after. */
  leaveChannel(appId: string, channel: string, uid: string, sessionId: string): Promise<number>
  member(appId: string, channel: string, uid: string): Promise<MemberRecord | null>
  /** All members (callers sample). */
  channelMembers(appId: string, channel: string): Promise<MemberRecord[]>
  channelCount(appId: string, channel: string): Promise<number>
  /** Sends `frame` to every member of the channel but `exceptUid` (of `audience`: all, those outside the overlay, or those in it). */
  sendToChannel(appId: string, channel: string, frame: Uint8Array, exceptUid?: string, audience?: ChannelAudience): Promise<void>
  /** How many members joined the channel outside its overlay. */
  outsideCount(appId: string, channel: string): Promise<OutsideCount>

  /** Counts for health and metrics (this node's view; cheap). */
  stats(): { sessions: number; subscriptions: number; channels: number }
  /** Whether the engine can do its work now (for /readyz): a Redis engine without its Redis cannot. */
  health(): { ok: boolean; reason: string }
}
