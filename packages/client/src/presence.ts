import {
  ErrorCode,
  FrameType,
  MAX_IDS_PER_LIST,
  PeerOnlineState,
  PlazaError,
  assertUserId,
  type ClientFrame,
  type PresenceEntry,
  type ServerFrame,
} from '@plaza/protocol'
import type { PeersOnlineStatus } from './types.js'

type Request = (build: (reqId: number) => ClientFrame) => Promise<ServerFrame>

export function checkIds(ids: string[]): string[] {
  if (!Array.isArray(ids) || ids.length === 0) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'a non-empty list of ids')
  // More than a frame can carry: the node would refuse the whole frame as malformed.
  if (ids.length > MAX_IDS_PER_LIST) throw new PlazaError(ErrorCode.TOO_MANY_IDS, `at most ${MAX_IDS_PER_LIST} ids at once`)
  for (const id of ids) assertUserId(id)
  return [...new Set(ids)]
}

function toStatus(states: PresenceEntry[]): PeersOnlineStatus {
  const out: PeersOnlineStatus = {}
  for (const s of states) out[s.uid] = s.state
  return out
}

/** Online status: queries, the users this client follows, and what changed for them. */
export class Presence {
  private readonly subscriptions = new Map<string, PeerOnlineState>()

  constructor(
    private readonly request: Request,
    private readonly changed: (status: PeersOnlineStatus) => void,
    /** A followed user went offline. */
    private readonly wentOffline: (uid: string) => void,
  ) {}

  async query(peerIds: string[]): Promise<PeersOnlineStatus> {
    const uids = checkIds(peerIds)
    const f = await this.request((reqId) => ({ type: FrameType.QUERY_PRESENCE, reqId, uids }))
    return f.type === FrameType.PRESENCE_STATES ? toStatus(f.states) : {}
  }

  async subscribe(peerIds: string[]): Promise<void> {
    const uids = checkIds(peerIds)
    const f = await this.request((reqId) => ({ type: FrameType.SUBSCRIBE_PRESENCE, reqId, uids }))
    if (f.type !== FrameType.PRESENCE_STATES) return
    for (const s of f.states) this.subscriptions.set(s.uid, s.state)
    this.changed(toStatus(f.states))
  }

  async unsubscribe(peerIds: string[]): Promise<void> {
    const uids = checkIds(peerIds)
    await this.request((reqId) => ({ type: FrameType.UNSUBSCRIBE_PRESENCE, reqId, uids }))
    for (const u of uids) this.subscriptions.delete(u)
  }

  followed(): string[] {
    return [...this.subscriptions.keys()]
  }

  clear(): void {
    this.subscriptions.clear()
  }

  /** States pushed by the node (or answered after a fresh session): what changed is reported. */
  onStates(states: PresenceEntry[]): void {
    const changed = states.filter((s) => this.subscriptions.has(s.uid) && this.subscriptions.get(s.uid) !== s.state)
    for (const s of changed) this.subscriptions.set(s.uid, s.state)
    for (const s of changed) if (s.state === PeerOnlineState.OFFLINE) this.wentOffline(s.uid)
    if (changed.length) this.changed(toStatus(changed))
  }

  /** After a fresh session (the node lost ours): subscribe again and report what changed. */
  async restore(): Promise<void> {
    if (this.subscriptions.size === 0) return
    const uids = [...this.subscriptions.keys()]
    try {
      const f = await this.request((reqId) => ({ type: FrameType.SUBSCRIBE_PRESENCE, reqId, uids }))
      if (f.type === FrameType.PRESENCE_STATES) this.onStates(f.states)
    } catch {
      // Connection dropped again; the next ready retries.
    }
  }
}
