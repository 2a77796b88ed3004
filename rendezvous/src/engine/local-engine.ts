import { encodeFrame, FrameType, PeerOnlineState } from '@plaza/protocol'
import type { OfflineStore } from '../store/offline-store.js'
import type { Engine, SessionHandle } from './engine.js'

const key = (appId: string, uid: string) => `${appId}\u0000${uid}`

/** The default engine: one node, state in this process, offline messages in the embedded store. */
export class LocalEngine implements Engine {
  private readonly sessions = new Map<string, SessionHandle>()
  /** target (app+uid) -> sessions subscribed to its presence */
  private readonly subscribers = new Map<string, Set<SessionHandle>>()
  /** session -> targets it subscribes to, to clean up when it ends */
  private readonly subscriptionsOf = new Map<SessionHandle, Set<string>>()

  constructor(readonly offline: OfflineStore & { open?(): Promise<void> }) {}

  async open(): Promise<void> {
    await this.offline.open?.()
  }

  async close(): Promise<void> {
    await this.offline.close()
  }

  register(session: SessionHandle): void {
    const k = key(session.appId, session.uid)
    const older = this.sessions.get(k)
    this.sessions.set(k, session)
    if (older && older !== session) older.kick(0, 'REMOTE_LOGIN')
  }

  unregister(session: SessionHandle): void {
    const k = key(session.appId, session.uid)
    if (this.sessions.get(k) === session) this.sessions.delete(k)
    const targets = this.subscriptionsOf.get(session)
    if (targets) {
      for (const t of targets) this.dropSubscriber(t, session)
      this.subscriptionsOf.delete(session)
    }
  }

  lookup(appId: string, uid: string): SessionHandle | undefined {
    return this.sessions.get(key(appId, uid))
  }

  deliver(appId: string, uid: string, frame: Uint8Array): boolean {
    const s = this.sessions.get(key(appId, uid))
    if (!s) return false
    s.send(frame)
    return true
  }

  presenceOf(appId: string, uids: string[]): PeerOnlineState[] {
    return uids.map((uid) => this.sessions.get(key(appId, uid))?.presence ?? PeerOnlineState.OFFLINE)
  }

  subscribe(session: SessionHandle, uids: string[]): void {
    let mine = this.subscriptionsOf.get(session)
    if (!mine) this.subscriptionsOf.set(session, (mine = new Set()))
    for (const uid of uids) {
      const t = key(session.appId, uid)
      mine.add(t)
      let set = this.subscribers.get(t)
      if (!set) this.subscribers.set(t, (set = new Set()))
      set.add(session)
    }
  }

  unsubscribe(session: SessionHandle, uids: string[]): void {
    const mine = this.subscriptionsOf.get(session)
    for (const uid of uids) {
      const t = key(session.appId, uid)
      mine?.delete(t)
      this.dropSubscriber(t, session)
    }
  }

  private dropSubscriber(target: string, session: SessionHandle): void {
    const set = this.subscribers.get(target)
    if (!set) return
    set.delete(session)
    if (set.size === 0) this.subscribers.delete(target)
  }

  publishPresence(appId: string, uid: string, state: PeerOnlineState): void {
    const set = this.subscribers.get(key(appId, uid))
    if (!set || set.size === 0) return
    const frame = encodeFrame({ type: FrameType.PRESENCE_STATES, reqId: 0, states: [{ uid, state }] })
    for (const s of set) s.send(frame)
  }

  stats(): { sessions: number; subscriptions: number } {
    let subscriptions = 0
    for (const set of this.subscriptionsOf.values()) subscriptions += set.size
    return { sessions: this.sessions.size, subscriptions }
  }
}
