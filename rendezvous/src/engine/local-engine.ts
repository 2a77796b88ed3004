import { ErrorCode, PeerOnlineState } from '@plaza/protocol'
import type { Database } from '../store/database.js'
import { DocStore } from '../store/doc-store.js'
import { ModerationStore } from '../store/moderation-store.js'
import { LevelOfflineStore, type OfflineStoreOptions } from '../store/offline-store.js'
import type { Engine, SessionHandle, Topic } from './engine.js'

const key = (appId: string, id: string) => `${appId}\u0000${id}`

/** The default engine: one node, state in this process, stores in the embedded database. */
export class LocalEngine implements Engine {
  readonly offline: LevelOfflineStore
  readonly docs: DocStore
  readonly moderation: ModerationStore
  private readonly db: Database
  private readonly sessions = new Map<string, SessionHandle>()
  /** topic + target (app+uid) -> sessions following it */
  private readonly subscribers = new Map<string, Set<SessionHandle>>()
  /** session -> the topic+target keys it follows, to clean up when it ends */
  private readonly subscriptionsOf = new Map<SessionHandle, Set<string>>()
  /** app+channel -> uid -> session */
  private readonly channels = new Map<string, Map<string, SessionHandle>>()

  /** `db`: the embedded database (opened by `open`); `now`: the clock for retention. */
  constructor(db: Database, offline: OfflineStoreOptions, now: () => number = Date.now) {
    this.db = db
    this.offline = new LevelOfflineStore(this.db, offline, now)
    this.docs = new DocStore(this.db)
    this.moderation = new ModerationStore(this.db)
  }

  async open(): Promise<void> {
    await this.db.open()
    await this.offline.open()
    await this.docs.open()
    await this.moderation.open()
  }

  async close(): Promise<void> {
    await this.offline.close()
    await this.db.close()
  }

  register(session: SessionHandle): void {
    const k = key(session.appId, session.uid)
    const older = this.sessions.get(k)
    this.sessions.set(k, session)
    if (older && older !== session) older.kick(ErrorCode.REMOTE_LOGIN, 'logged in elsewhere')
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

  subscribe(session: SessionHandle, topic: Topic, uids: string[]): void {
    let mine = this.subscriptionsOf.get(session)
    if (!mine) this.subscriptionsOf.set(session, (mine = new Set()))
    for (const uid of uids) {
      const t = `${topic}\u0000${key(session.appId, uid)}`
      mine.add(t)
      let set = this.subscribers.get(t)
      if (!set) this.subscribers.set(t, (set = new Set()))
      set.add(session)
    }
  }

  unsubscribe(session: SessionHandle, topic: Topic, uids: string[]): void {
    const mine = this.subscriptionsOf.get(session)
    for (const uid of uids) {
      const t = `${topic}\u0000${key(session.appId, uid)}`
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

  publish(topic: Topic, appId: string, uid: string, frame: Uint8Array): void {
    const set = this.subscribers.get(`${topic}\u0000${key(appId, uid)}`)
    if (set) for (const s of set) s.send(frame)
  }

  joinChannel(session: SessionHandle, channel: string): number {
    const k = key(session.appId, channel)
    let members = this.channels.get(k)
    if (!members) this.channels.set(k, (members = new Map()))
    members.set(session.uid, session)
    return members.size
  }

  leaveChannel(session: SessionHandle, channel: string): number {
    const k = key(session.appId, channel)
    const members = this.channels.get(k)
    if (!members) return 0
    if (members.get(session.uid) === session) members.delete(session.uid)
    if (members.size === 0) this.channels.delete(k)
    return members.size
  }

  isMember(appId: string, channel: string, uid: string): boolean {
    return this.channels.get(key(appId, channel))?.has(uid) ?? false
  }

  channelMembers(appId: string, channel: string): string[] {
    return [...(this.channels.get(key(appId, channel))?.keys() ?? [])]
  }

  channelCount(appId: string, channel: string): number {
    return this.channels.get(key(appId, channel))?.size ?? 0
  }

  sendToChannel(appId: string, channel: string, frame: Uint8Array, exceptUid?: string): void {
    const members = this.channels.get(key(appId, channel))
    if (!members) return
    for (const [uid, s] of members) if (uid !== exceptUid) s.send(frame)
  }

  stats(): { sessions: number; subscriptions: number; channels: number } {
    let subscriptions = 0
    for (const set of this.subscriptionsOf.values()) subscriptions += set.size
    return { sessions: this.sessions.size, subscriptions, channels: this.channels.size }
  }
}
