import type { PeerOnlineState } from '@plaza/protocol'
import type { OfflineStore } from '../store/offline-store.js'

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
  kick(code: number, message: string): void
}

/**
 * Where a node keeps the state that users share: who is online, who listens to whose
 * presence, how a frame reaches a user, and the offline store. In the manner of Socket.IO's
 * adapters, the in-process engine is the working default; an engine for many nodes (Redis)
 * implements the same contract so that the node code does not change.
 *
 * Contract: `register` makes `session` the one session of its uid in its app, everywhere,
 * kicking any older one; `deliver` hands a frame to the uid's session wherever it is held and
 * says whether one was found; presence changes published on any node reach every subscriber.
 */
export interface Engine {
  readonly offline: OfflineStore
  open(): Promise<void>
  close(): Promise<void>

  register(session: SessionHandle): void
  unregister(session: SessionHandle): void
  /** The live session of a uid (this node's view), if any. */
  lookup(appId: string, uid: string): SessionHandle | undefined
  /** Hands an encoded frame to the uid's session; false when the uid has none. */
  deliver(appId: string, uid: string, frame: Uint8Array): boolean

  presenceOf(appId: string, uids: string[]): PeerOnlineState[]
  subscribe(session: SessionHandle, uids: string[]): void
  unsubscribe(session: SessionHandle, uids: string[]): void
  /** Everyone subscribed to `uid` hears its new state. */
  publishPresence(appId: string, uid: string, state: PeerOnlineState): void

  /** Counts for health and metrics. */
  stats(): { sessions: number; subscriptions: number }
}
