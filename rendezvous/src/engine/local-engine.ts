import { ErrorCode, PeerOnlineState, type AttributeEntry } from '@plaza/protocol'
import type { Database } from '../store/database.js'
import { LevelDocStore } from '../store/doc-store.js'
import { LevelModerationStore } from '../store/moderation-store.js'
import { LevelOfflineStore, type OfflineStoreOptions } from '../store/offline-store.js'
import type { ChannelAudience, Engine, EngineSink, MemberRecord, OutsideCount, Reach, SessionCommand, SessionRecord, Topic } from './engine.js'

const key = (appId: string, id: string) => `${appId}\u0000${id}`
const MAX_CONTACTS = 1024
/** Attributes of a session that set none (most): one shared empty list. */
const NO_ATTRS: AttributeEntry[] = Object.freeze([]) as unknown as AttributeEntry[]

interface LiveSession extends SessionRecord {
  attrs: AttributeEntry[]
  /** Its connection dropped and it has not resumed. */
  away?: boolean
  /** Users it sent a peer message through the node, newest last (bounded); made on first use. */
  sentTo?: Set<string>
  /** topic+target keys it follows, to clean up when it ends; made on first use. */
  follows?: Set<string>
}

/**
 * The default engine: one node, everything in this process, the stores in the embedded
 * database. Each method does its work at once and returns a settled promise, so calls take
 * effect in the order they were made.
 */
export class LocalEngine implements Engine {
  readonly nodeId = 'local'
  readonly shared = false
  readonly offline: LevelOfflineStore
  readonly docs: LevelDocStore
  readonly moderation: LevelModerationStore
  private readonly db: Database
  private sink: EngineSink | null = null
  /** app+uid -> its session */
  private readonly sessions = new Map<string, LiveSession>()
  /** session id -> its record */
  private readonly byId = new Map<string, LiveSession>()
  /** topic + app+uid -> session ids following it */
  private readonly subscribers = new Map<string, Set<string>>()
  /** app+channel -> uid -> member */
  private readonly channels = new Map<string, Map<string, MemberRecord>>()
  /** Members outside each channel's overlay (channels with none are not kept), and the version of the last change. */
  private readonly outside = new Map<string, number>()
  private outsideVersion = 0

  /** `db`: the embedded database (opened by `open`); `now`: the clock for retention. */
  constructor(db: Database, offline: OfflineStoreOptions, private readonly now: () => number = Date.now) {
    this.db = db
    this.offline = new LevelOfflineStore(this.db, offline, now)
    this.docs = new LevelDocStore(this.db)
    this.moderation = new LevelModerationStore(this.db)
  }

  async open(sink: EngineSink): Promise<void> {
    this.sink = sink
    await this.db.open()
    await this.offline.open()
    await this.docs.open()
    await this.moderation.open()
  }

  async close(): Promise<void> {
    await this.offline.close()
    await this.db.close()
  }

  private toSession(sessionId: string, frame: Uint8Array): void {
    this.sink?.frame(sessionId, frame)
  }

  async register(appId: string, uid: string, sessionId: string, address: string): Promise<SessionRecord | null> {
    const k = key(appId, uid)
    const older = this.sessions.get(k)
    if (older?.sessionId === sessionId) return null
    const s: LiveSession = { sessionId, nodeId: this.nodeId, presence: PeerOnlineState.ONLINE, address, attrs: NO_ATTRS }
    this.sessions.set(k, s)
    this.byId.set(sessionId, s)
    if (!older) return null
    this.forget(older)
    this.sink?.command(older.sessionId, { kind: 'end', code: ErrorCode.REMOTE_LOGIN, message: 'logged in elsewhere' })
    return { sessionId: older.sessionId, nodeId: older.nodeId, presence: older.presence, address: older.address }
  }

  async unregister(appId: string, uid: string, sessionId: string): Promise<boolean> {
    const k = key(appId, uid)
    const s = this.sessions.get(k)
    if (s?.sessionId === sessionId) {
      this.sessions.delete(k)
      this.forget(s)
    }
    const stale = this.byId.get(sessionId)
    if (stale) this.forget(stale)
    return !this.sessions.has(k)
  }

  private forget(s: LiveSession): void {
    this.byId.delete(s.sessionId)
    for (const t of s.follows ?? []) this.dropSubscriber(t, s.sessionId)
    s.follows = undefined
  }

  async session(appId: string, uid: string): Promise<SessionRecord | null> {
    const s = this.sessions.get(key(appId, uid))
    return s ? { sessionId: s.sessionId, nodeId: s.nodeId, presence: s.presence, address: s.address } : null
  }

  async setPresence(appId: string, uid: string, sessionId: string, presence: PeerOnlineState): Promise<void> {
    const s = this.sessions.get(key(appId, uid))
    if (s?.sessionId === sessionId) s.presence = presence
  }

  async presenceOf(appId: string, uids: string[]): Promise<PeerOnlineState[]> {
    return this.presenceNow(appId, uids)
  }

  /** presenceOf, at once (the simulation's checker reads it between steps). */
  presenceNow(appId: string, uids: string[]): PeerOnlineState[] {
    return uids.map((uid) => this.sessions.get(key(appId, uid))?.presence ?? PeerOnlineState.OFFLINE)
  }

  async deliver(appId: string, uid: string, frame: Uint8Array): Promise<boolean> {
    return this.deliverNow(appId, uid, frame)
  }

  readonly deliverNow = (appId: string, uid: string, frame: Uint8Array): boolean => {
    const s = this.sessions.get(key(appId, uid))
    if (!s) return false
    this.toSession(s.sessionId, frame)
    return true
  }

  async deliverIfConnected(appId: string, uid: string, frame: Uint8Array): Promise<Reach> {
    return this.deliverIfConnectedNow(appId, uid, frame)
  }

  readonly deliverIfConnectedNow = (appId: string, uid: string, frame: Uint8Array): Reach => {
    const s = this.sessions.get(key(appId, uid))
    if (!s) return 'none'
    if (s.away || s.presence !== PeerOnlineState.ONLINE) return 'away'
    this.toSession(s.sessionId, frame)
    return 'delivered'
  }

  async setConnected(appId: string, uid: string, sessionId: string, connected: boolean): Promise<void> {
    const s = this.sessions.get(key(appId, uid))
    if (s?.sessionId === sessionId) s.away = !connected
  }

  async command(appId: string, uid: string, cmd: SessionCommand): Promise<boolean> {
    const s = this.sessions.get(key(appId, uid))
    if (!s) return false
    this.sink?.command(s.sessionId, cmd)
    return true
  }

  async toNodes(message: Uint8Array): Promise<void> {
    this.sink?.nodeMessage(message)
  }

  async setUserAttributes(appId: string, uid: string, sessionId: string, attrs: AttributeEntry[]): Promise<void> {
    const s = this.sessions.get(key(appId, uid))
    if (s?.sessionId === sessionId) s.attrs = attrs
  }

  async userAttributes(appId: string, uid: string): Promise<AttributeEntry[] | null> {
    return this.sessions.get(key(appId, uid))?.attrs ?? null
  }

  async noteSent(appId: string, from: string, to: string): Promise<void> {
    const s = this.sessions.get(key(appId, from))
    if (!s) return
    const sentTo = (s.sentTo ??= new Set())
    if (sentTo.has(to)) return
    if (sentTo.size >= MAX_CONTACTS) sentTo.delete(sentTo.values().next().value!)
    sentTo.add(to)
  }

  async areContacts(appId: string, a: string, b: string): Promise<boolean> {
    return !!this.sessions.get(key(appId, a))?.sentTo?.has(b) && !!this.sessions.get(key(appId, b))?.sentTo?.has(a)
  }

  async subscribe(appId: string, sessionId: string, topic: Topic, uids: string[]): Promise<void> {
    const s = this.byId.get(sessionId)
    if (!s) return
    for (const uid of uids) {
      const t = `${topic}\u0000${key(appId, uid)}`
      ;(s.follows ??= new Set()).add(t)
      let set = this.subscribers.get(t)
      if (!set) this.subscribers.set(t, (set = new Set()))
      set.add(sessionId)
    }
  }

  async unsubscribe(appId: string, sessionId: string, topic: Topic, uids: string[]): Promise<void> {
    const s = this.byId.get(sessionId)
    for (const uid of uids) {
      const t = `${topic}\u0000${key(appId, uid)}`
      s?.follows?.delete(t)
      this.dropSubscriber(t, sessionId)
    }
  }

  private dropSubscriber(target: string, sessionId: string): void {
    const set = this.subscribers.get(target)
    if (!set) return
    set.delete(sessionId)
    if (set.size === 0) this.subscribers.delete(target)
  }

  async publish(topic: Topic, appId: string, uid: string, frame: Uint8Array): Promise<void> {
    const set = this.subscribers.get(`${topic}\u0000${key(appId, uid)}`)
    if (set) for (const id of set) this.toSession(id, frame)
  }

  async joinChannel(appId: string, channel: string, member: MemberRecord): Promise<number> {
    const k = key(appId, channel)
    let members = this.channels.get(k)
    if (!members) this.channels.set(k, (members = new Map()))
    this.countOutside(k, members.get(member.uid), member)
    members.set(member.uid, { ...member })
    return members.size
  }

  private countOutside(k: string, before: MemberRecord | undefined, after: MemberRecord | undefined): void {
    const delta = (after?.outside ? 1 : 0) - (before?.outside ? 1 : 0)
    if (delta === 0) return
    const n = (this.outside.get(k) ?? 0) + delta
    if (n > 0) this.outside.set(k, n)
    else this.outside.delete(k)
    // From the clock (µs), so that a restarted node never tells a version lower than one told before it.
    this.outsideVersion = Math.max(this.outsideVersion + 1, this.now() * 1000)
  }

  async outsideCount(appId: string, channel: string): Promise<OutsideCount> {
    return { count: this.outside.get(key(appId, channel)) ?? 0, version: this.outsideVersion }
  }

  async leaveChannel(appId: string, channel: string, uid: string, sessionId: string): Promise<number> {
    const k = key(appId, channel)
    const members = this.channels.get(k)
    if (!members) return 0
    const m = members.get(uid)
    if (m?.sessionId === sessionId) {
      members.delete(uid)
      this.countOutside(k, m, undefined)
    }
    if (members.size === 0) this.channels.delete(k)
    return members.size
  }

  async member(appId: string, channel: string, uid: string): Promise<MemberRecord | null> {
    return this.channels.get(key(appId, channel))?.get(uid) ?? null
  }

  async channelMembers(appId: string, channel: string): Promise<MemberRecord[]> {
    return this.membersNow(appId, channel)
  }

  /** channelMembers, at once (the simulation's checker reads it between steps). */
  membersNow(appId: string, channel: string): MemberRecord[] {
    return [...(this.channels.get(key(appId, channel))?.values() ?? [])]
  }

  async channelCount(appId: string, channel: string): Promise<number> {
    return this.channels.get(key(appId, channel))?.size ?? 0
  }

  async sendToChannel(appId: string, channel: string, frame: Uint8Array, exceptUid?: string, audience: ChannelAudience = 'all'): Promise<void> {
    const members = this.channels.get(key(appId, channel))
    if (!members) return
    for (const [uid, m] of members) {
      if (uid === exceptUid || (audience === 'outside' && !m.outside) || (audience === 'overlay' && m.outside)) continue
      this.toSession(m.sessionId, frame)
    }
  }

  stats(): { sessions: number; subscriptions: number; channels: number } {
    let subscriptions = 0
    for (const s of this.byId.values()) subscriptions += s.follows?.size ?? 0
    return { sessions: this.sessions.size, subscriptions, channels: this.channels.size }
  }

  health(): { ok: boolean; reason: string } {
    return { ok: true, reason: '' }
  }
}
