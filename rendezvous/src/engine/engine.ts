import type { ErrorCode, PeerOnlineState } from '@plaza/protocol'
import type { DocStore } from '../store/doc-store.js'
import type { OfflineStore } from '../store/offline-store.js'
import type { ModerationStore } from '../store/moderation-store.js'

/** What the engine needs of a live session held by this node. */
export interface SessionHandle {
  readonly id: string
  readonly appId: string
  readonly uid: string
  /** ONLINE or UNREACHABLE while the session lives. */
  readonly presence: PeerOnlineState
  /** Sends (or, while detached, queues) one encoded server frame. */
  send(frame: Uint8Array): void
  /** Ends the session because another took its place or the node ended it. */
  kick(code: ErrorCode, message: string): void
}

/** What users can follow about another user. */
export type Topic = 'presence' | 'attributes'

/**
 * Where a node keeps the state that users share: who is online, who follows whom, channel
 * membership, how a frame reaches a user, and the stores. In the manner of Socket.IO's
 * adapters, the in-process engine is the working default; an engine for many nodes (Redis)
 * implements the same contract so that the node code does not change.
 *
 * Contract: `register` makes `session` the one session of its uid in its app, everywhere,
 * kicking any older one; `deliver` hands a frame to the uid's session wherever it is held and
 * says whether one was found; `publish` reaches every subscriber of the topic on any node;
 * channel membership and `sendToChannel` span all nodes.
 */
export interface Engine {
  readonly offline: OfflineStore
  readonly docs: DocStore
  /** Bans, removals from channels and mutes. */
  readonly moderation: ModerationStore
  open(): Promise<void>
  close(): Promise<void>

  register(session: SessionHandle): void
  unregister(session: SessionHandle): void
  /** The live session of a uid (this node's view), if any. */
  lookup(appId: string, uid: string): SessionHandle | undefined
  /** Hands an encoded frame to the uid's session; false when the uid has none. */
  deliver(appId: string, uid: string, frame: Uint8Array): boolean

  presenceOf(appId: string, uids: string[]): PeerOnlineState[]
  subscribe(session: SessionHandle, topic: Topic, uids: string[]): void
  unsubscribe(session: SessionHandle, topic: Topic, uids: string[]): void
  /** Everyone subscribed to `topic` of `uid` gets `frame`. */
  publish(topic: Topic, appId: string, uid: string, frame: Uint8Array): void

  /** Adds the session to the channel; returns the member count after. */
  joinChannel(session: SessionHandle, channel: string): number
  /** Removes it; returns the member count after. */
  leaveChannel(session: SessionHandle, channel: string): number
  isMember(appId: string, channel: string, uid: string): boolean
  /** Member uids (all of them; callers sample). */
  channelMembers(appId: string, channel: string): string[]
  channelCount(appId: string, channel: string): number
  /** Sends `frame` to every member of the channel but `exceptUid`. */
  sendToChannel(appId: string, channel: string, frame: Uint8Array, exceptUid?: string): void

  /** Counts for health and metrics. */
  stats(): { sessions: number; subscriptions: number; channels: number }
}
