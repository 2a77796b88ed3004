import { Redis, type RedisOptions } from 'ioredis'
import { ErrorCode, PeerOnlineState, PlazaError, type AttributeEntry } from '@plaza/protocol'
import type { DocStore } from '../store/doc-store.js'
import type { ModerationStore } from '../store/moderation-store.js'
import type { OfflineStore } from '../store/offline-store.js'
import type { ChannelAudience, Engine, EngineSink, MemberRecord, OutsideCount, Reach, SessionCommand, SessionRecord, Topic } from './engine.js'
import * as lua from './redis-scripts.js'
import { joinId, splitId, unavailable } from '../store/redis-keys.js'

const MAX_CONTACTS = 1024

/** The stores a Redis deployment shares (see redis-stores.ts). */
export interface SharedStores {
  offline: OfflineStore
  docs: DocStore
  moderation: ModerationStore
  open(): Promise<void>
  close(): Promise<void>
  /** Channels the stores follow (changes other nodes made), and what each message is handed to. */
  listen: Record<string, (message: string) => void>
  /** The connection came back: what may have been missed is read again. */
  reconnected(): Promise<void>
}

/** How often a node says it lives, and how long its word lasts. */
const HEARTBEAT_MS = 1000
const HEARTBEAT_TTL_MS = 5000
/** Keys that live only with a session expire this long after their node last renewed them (every RENEW_EVERY_BEATS beats). */
const SESSION_KEYS_TTL_MS = 10 * 60_000
const RENEW_EVERY_BEATS = 60
/** A Redis that does not answer a command within this long is out of reach. */
const COMMAND_TIMEOUT_MS = 2000

export interface RedisEngineOptions {
  /** A dead node's sessions that did not come back elsewhere within this time are ended. Default 30 s. */
  offlineAfterMs?: number
  /** redis://host:port[/db] */
  url: string
  /** Namespace of every key and channel, so that several deployments share one Redis. */
  prefix: string
  /** This node's id (unique in the deployment). */
  nodeId: string
  /** The stores, on the same Redis. */
  stores: (redis: Redis, prefix: string) => SharedStores
  /** Extra ioredis options (tests). */
  redis?: Partial<RedisOptions>
}

type Script = keyof typeof lua
type Scripted = Redis & Record<Script, (...args: (string | Buffer | number)[]) => Promise<unknown>>

const NL = 0x0a

/**
 * The engine for many nodes on one Redis. Session records, channel membership and contacts
 * live in Redis and change through scripts (atomic); frames for a session go to the node that
 * holds it by PUBLISH on that node's channel; what users follow (presence, attributes) is kept
 * by each node for its own sessions and published to all nodes on one bus channel.
 *
 * One connection carries every command in order, so a node's calls take effect in the order it
 * made them; a second connection listens. Without Redis, calls fail with UNAVAILABLE at once
 * (no offline queue) and the connection is retried in the background.
 */
export class RedisEngine implements Engine {
  readonly nodeId: string
  readonly shared = true
  readonly offline: OfflineStore
  readonly docs: DocStore
  readonly moderation: ModerationStore
  private readonly redis: Scripted
  private readonly listener: Redis
  private readonly stores: SharedStores
  private readonly prefix: string
  private sink: EngineSink | null = null
  /** topic\0app\0uid -> this node's session ids following it */
  private readonly subscribers = new Map<string, Set<string>>()
  /** session id -> the topic keys it follows */
  private readonly follows = new Map<string, Set<string>>()
  /** This node's sessions (id -> app and uid): their keys' expiry is renewed while they live. */
  private readonly here = new Map<string, { appId: string; uid: string }>()
  private beats = 0
  /** Channels with members on this node -> those members' session ids (for stats). */
  private readonly channelsHere = new Map<string, Set<string>>()
  private heartbeat: NodeJS.Timeout | null = null
  private reaping = false
  /** When Redis last answered this node's heartbeat. */
  private lastAnswer = Date.now()
  private readonly offlineAfterMs: number

  constructor(opts: RedisEngineOptions) {
    this.nodeId = opts.nodeId
    this.prefix = opts.prefix
    this.offlineAfterMs = opts.offlineAfterMs ?? 30_000
    // No offline queue and a command timeout: without Redis a call fails at once (or within 2 s
    // when Redis hangs) with UNAVAILABLE instead of waiting; the connection is retried meanwhile.
    const base: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS, lazyConnect: true, ...opts.redis }
    this.redis = new Redis(opts.url, base) as Scripted
    for (const [name, source] of Object.entries(lua)) this.redis.defineCommand(name, { lua: source })
    this.listener = new Redis(opts.url, { ...base, enableOfflineQueue: true })
    this.stores = opts.stores(this.redis, opts.prefix)
    this.offline = this.stores.offline
    this.docs = this.stores.docs
    this.moderation = this.stores.moderation
  }

  // ---- keys ----
  private sessionKey(appId: string, uid: string): string {
    return `${this.prefix}s:${joinId(appId, uid)}`
  }
  private channelKey(appId: string, channel: string): string {
    return `${this.prefix}c:${joinId(appId, channel)}`
  }
  private outsideKey(appId: string, channel: string): string {
    return `${this.prefix}co:${joinId(appId, channel)}`
  }

  private call<T>(script: Script, numKeys: number, ...args: (string | Buffer | number)[]): Promise<T> {
    return this.redis[script](numKeys, ...args).catch(unavailable) as Promise<T>
  }

  async open(sink: EngineSink): Promise<void> {
    this.sink = sink
    await this.redis.connect()
    await this.listener.connect()
    this.listener.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message))
    await this.listener.subscribe(`${this.prefix}to:${this.nodeId}`, `${this.prefix}bus`, ...Object.keys(this.stores.listen))
    await this.stores.open()
    await this.beat()
    this.heartbeat = setInterval(() => {
      this.beat().catch(() => undefined)
      if (++this.beats % RENEW_EVERY_BEATS === 0) this.renewExpiry().catch(() => undefined)
      if (!this.reaping) {
        this.reaping = true
        this.reapDeadNodes()
          .catch(() => undefined)
          .finally(() => (this.reaping = false))
      }
    }, HEARTBEAT_MS)
    this.heartbeat.unref()
    // After a lost connection ioredis subscribes again by itself; what was published meanwhile is read again.
    let first = true
    this.listener.on('ready', () => {
      if (first) return void (first = false)
      this.stores.reconnected().catch(() => undefined)
    })
  }

  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.heartbeat = null
    await this.stores.close()
    this.listener.disconnect()
    await this.redis.quit().catch(() => this.redis.disconnect())
  }

  /**
   * What lives only with a session (its record, channels, contacts, this node's index) expires
   * by itself if nothing renews it: a deployment that stops for good leaves nothing behind. The
   * node holding the sessions renews it; the survivors end a dead node's sessions long before.
   */
  private async renewExpiry(): Promise<void> {
    const p = this.prefix
    const batch = this.redis.pipeline()
    batch.pexpire(`${p}ns:${this.nodeId}`, SESSION_KEYS_TTL_MS)
    for (const [sid, { appId, uid }] of this.here) {
      batch.pexpire(this.sessionKey(appId, uid), SESSION_KEYS_TTL_MS)
      batch.pexpire(`${p}sc:${sid}`, SESSION_KEYS_TTL_MS)
      batch.pexpire(`${p}sent:${sid}`, SESSION_KEYS_TTL_MS)
    }
    await batch.exec()
  }

  /** This node lives (for HEARTBEAT_TTL_MS). */
  private async beat(): Promise<void> {
    await this.redis.multi().set(`${this.prefix}live:${this.nodeId}`, String(Date.now()), 'PX', HEARTBEAT_TTL_MS).sadd(`${this.prefix}nodes`, this.nodeId).exec()
    this.lastAnswer = Date.now()
  }

  /**
   * A node whose heartbeat stopped is dead from the first time one noticed; once the offline
   * window has passed since, one live node (a lock) ends each of its sessions that did not come
   * back on another node, then forgets the node. No node needs the dead one's help.
   */
  private async reapDeadNodes(): Promise<void> {
    const p = this.prefix
    for (const node of await this.redis.smembers(`${p}nodes`)) {
      if (node === this.nodeId) continue
      if (await this.redis.exists(`${p}live:${node}`)) {
        // Alive again (its heartbeat lapsed while Redis stood still, say): not dead after all.
        await this.redis.del(`${p}dead:${node}`)
        continue
      }
      await this.redis.set(`${p}dead:${node}`, String(Date.now()), 'PX', 3_600_000, 'NX')
      const since = Number(await this.redis.get(`${p}dead:${node}`))
      if (Date.now() - since < this.offlineAfterMs) continue
      if ((await this.redis.set(`${p}reaping:${node}`, this.nodeId, 'PX', 60_000, 'NX')) !== 'OK') continue
      for (const entry of await this.redis.smembers(`${p}ns:${node}`)) {
        const space = entry.indexOf(' ')
        const sessionId = entry.slice(0, space)
        const { appId, rest: uid } = splitId(entry.slice(space + 1))
        const record = await this.session(appId, uid)
        // Back on another node (a new session took the uid): nothing to end.
        if (record?.sessionId === sessionId) {
          const channels = (await this.redis.smembers(`${p}sc:${sessionId}`)).map((key) => splitId(key.slice(`${p}c:`.length)).rest)
          await this.sink?.orphaned({ appId, uid, sessionId, channels })
        }
        await this.redis.multi().srem(`${p}ns:${node}`, entry).del(`${p}sc:${sessionId}`, `${p}sent:${sessionId}`).exec()
      }
      await this.redis.multi().srem(`${p}nodes`, node).del(`${p}dead:${node}`, `${p}ns:${node}`, `${p}reaping:${node}`).exec()
    }
  }

  private onMessage(channel: string, message: Buffer): void {
    const store = this.stores.listen[channel]
    if (store) return store(message.toString())
    const nl = message.indexOf(NL)
    if (nl < 0) return
    const header = message.subarray(0, nl).toString()
    const body = message.subarray(nl + 1)
    if (channel === `${this.prefix}bus`) return this.onBus(header, body)
    const [kind, ...sids] = header.split(' ')
    if (kind === 'F') {
      const frame = new Uint8Array(body.buffer, body.byteOffset, body.length)
      for (const sid of sids) this.sink?.frame(sid, frame)
    } else if (kind === 'C' && sids.length === 1) {
      this.sink?.command(sids[0], JSON.parse(body.toString()) as SessionCommand)
    }
  }

  /** "P <length of topic key>\n<topic key><frame>": a publication for whoever follows it here; "N\n<message>": for every node. */
  private onBus(header: string, body: Buffer): void {
    const [kind, len] = header.split(' ')
    if (kind === 'N') return this.sink?.nodeMessage(new Uint8Array(body.buffer, body.byteOffset, body.length))
    if (kind !== 'P') return
    const n = Number(len)
    const topic = body.subarray(0, n).toString()
    const set = this.subscribers.get(topic)
    if (!set) return
    const frame = new Uint8Array(body.buffer, body.byteOffset + n, body.length - n)
    for (const sid of set) this.sink?.frame(sid, frame)
  }

  // ---- sessions ----
  async register(appId: string, uid: string, sessionId: string, address: string): Promise<SessionRecord | null> {
    const entry = `${sessionId} ${joinId(appId, uid)}`
    const end = JSON.stringify({ kind: 'end', code: ErrorCode.REMOTE_LOGIN, message: 'logged in elsewhere' } satisfies SessionCommand)
    const old = await this.call<string[] | null>('REGISTER', 2, this.sessionKey(appId, uid), `${this.prefix}ns:${this.nodeId}`, this.prefix, sessionId, this.nodeId, address, entry, end, SESSION_KEYS_TTL_MS)
    this.here.set(sessionId, { appId, uid })
    if (!old) return null
    return { sessionId: old[0], nodeId: old[1], presence: old[2] as PeerOnlineState, address: old[3] }
  }

  async unregister(appId: string, uid: string, sessionId: string): Promise<boolean> {
    this.forgetFollows(sessionId)
    this.here.delete(sessionId)
    return (await this.call<number>('UNREGISTER', 1, this.sessionKey(appId, uid), this.prefix, sessionId)) === 1
  }

  async session(appId: string, uid: string): Promise<SessionRecord | null> {
    const [sid, node, presence, addr] = await this.redis.hmget(this.sessionKey(appId, uid), 'sid', 'node', 'presence', 'addr').catch(unavailable)
    if (!sid || !node) return null
    return { sessionId: sid, nodeId: node, presence: (presence ?? PeerOnlineState.ONLINE) as PeerOnlineState, address: addr ?? '' }
  }

  async setPresence(appId: string, uid: string, sessionId: string, presence: PeerOnlineState): Promise<void> {
    await this.call('SET_FIELD', 1, this.sessionKey(appId, uid), this.prefix, sessionId, 'presence', presence)
  }

  async presenceOf(appId: string, uids: string[]): Promise<PeerOnlineState[]> {
    if (uids.length === 0) return []
    const pipeline = this.redis.pipeline()
    for (const uid of uids) pipeline.hget(this.sessionKey(appId, uid), 'presence')
    const results = (await pipeline.exec().catch(unavailable)) ?? []
    return results.map(([err, v]) => {
      if (err) unavailable(err)
      return (v as PeerOnlineState | null) ?? PeerOnlineState.OFFLINE
    })
  }

  async deliver(appId: string, uid: string, frame: Uint8Array): Promise<boolean> {
    return (await this.call<number>('DELIVER', 1, this.sessionKey(appId, uid), this.prefix, Buffer.from(frame.buffer, frame.byteOffset, frame.length))) === 1
  }

  async deliverIfConnected(appId: string, uid: string, frame: Uint8Array): Promise<Reach> {
    const r = await this.call<number>('DELIVER_IF_CONNECTED', 1, this.sessionKey(appId, uid), this.prefix, Buffer.from(frame.buffer, frame.byteOffset, frame.length))
    return r === 1 ? 'delivered' : r === 2 ? 'away' : 'none'
  }

  async setConnected(appId: string, uid: string, sessionId: string, connected: boolean): Promise<void> {
    await this.call('SET_FIELD', 1, this.sessionKey(appId, uid), this.prefix, sessionId, 'away', connected ? '0' : '1')
  }

  async command(appId: string, uid: string, cmd: SessionCommand): Promise<boolean> {
    return (await this.call<number>('COMMAND', 1, this.sessionKey(appId, uid), this.prefix, JSON.stringify(cmd))) === 1
  }

  async toNodes(message: Uint8Array): Promise<void> {
    await this.redis.publish(`${this.prefix}bus`, Buffer.concat([Buffer.from('N\n'), message])).catch(unavailable)
  }

  // ---- what lives with a session ----
  async setUserAttributes(appId: string, uid: string, sessionId: string, attrs: AttributeEntry[]): Promise<void> {
    await this.call('SET_FIELD', 1, this.sessionKey(appId, uid), this.prefix, sessionId, 'attrs', JSON.stringify(attrs))
  }

  async userAttributes(appId: string, uid: string): Promise<AttributeEntry[] | null> {
    const raw = await this.redis.hget(this.sessionKey(appId, uid), 'attrs').catch(unavailable)
    return raw === null ? null : (JSON.parse(raw) as AttributeEntry[])
  }

  async noteSent(appId: string, from: string, to: string): Promise<void> {
    await this.call('NOTE_SENT', 1, this.sessionKey(appId, from), this.prefix, to, MAX_CONTACTS, SESSION_KEYS_TTL_MS)
  }

  async areContacts(appId: string, a: string, b: string): Promise<boolean> {
    return (await this.call<number>('ARE_CONTACTS', 2, this.sessionKey(appId, a), this.sessionKey(appId, b), this.prefix, a, b)) === 1
  }

  // ---- subscriptions (kept by the node of the following session) ----
  private topicKey(topic: Topic, appId: string, uid: string): string {
    return `${topic}\u0000${appId}\u0000${uid}`
  }

  async subscribe(appId: string, sessionId: string, topic: Topic, uids: string[]): Promise<void> {
    let mine = this.follows.get(sessionId)
    if (!mine) this.follows.set(sessionId, (mine = new Set()))
    for (const uid of uids) {
      const t = this.topicKey(topic, appId, uid)
      mine.add(t)
      let set = this.subscribers.get(t)
      if (!set) this.subscribers.set(t, (set = new Set()))
      set.add(sessionId)
    }
  }

  async unsubscribe(appId: string, sessionId: string, topic: Topic, uids: string[]): Promise<void> {
    const mine = this.follows.get(sessionId)
    for (const uid of uids) {
      const t = this.topicKey(topic, appId, uid)
      mine?.delete(t)
      this.dropSubscriber(t, sessionId)
    }
  }

  private forgetFollows(sessionId: string): void {
    for (const t of this.follows.get(sessionId) ?? []) this.dropSubscriber(t, sessionId)
    this.follows.delete(sessionId)
  }

  private dropSubscriber(t: string, sessionId: string): void {
    const set = this.subscribers.get(t)
    if (!set) return
    set.delete(sessionId)
    if (set.size === 0) this.subscribers.delete(t)
  }

  async publish(topic: Topic, appId: string, uid: string, frame: Uint8Array): Promise<void> {
    const t = Buffer.from(this.topicKey(topic, appId, uid))
    const message = Buffer.concat([Buffer.from(`P ${t.length}\n`), t, frame])
    await this.redis.publish(`${this.prefix}bus`, message).catch(unavailable)
  }

  // ---- channels ----
  async joinChannel(appId: string, channel: string, member: MemberRecord): Promise<number> {
    const value = JSON.stringify({ ...member, nodeId: this.nodeId })
    const key = this.channelKey(appId, channel)
    const count = await this.call<number>('JOIN', 3, key, `${this.prefix}sc:${member.sessionId}`, this.outsideKey(appId, channel), this.prefix, member.uid, value, SESSION_KEYS_TTL_MS)
    let here = this.channelsHere.get(key)
    if (!here) this.channelsHere.set(key, (here = new Set()))
    here.add(member.sessionId)
    return count
  }

  async leaveChannel(appId: string, channel: string, uid: string, sessionId: string): Promise<number> {
    const key = this.channelKey(appId, channel)
    const here = this.channelsHere.get(key)
    if (here?.delete(sessionId) && here.size === 0) this.channelsHere.delete(key)
    return this.call<number>('LEAVE', 3, key, `${this.prefix}sc:${sessionId}`, this.outsideKey(appId, channel), this.prefix, uid, sessionId)
  }

  async member(appId: string, channel: string, uid: string): Promise<MemberRecord | null> {
    const raw = await this.redis.hget(this.channelKey(appId, channel), uid).catch(unavailable)
    return raw === null ? null : toMember(raw)
  }

  async channelMembers(appId: string, channel: string): Promise<MemberRecord[]> {
    const all = await this.redis.hvals(this.channelKey(appId, channel)).catch(unavailable)
    return all.map(toMember)
  }

  async channelCount(appId: string, channel: string): Promise<number> {
    return this.redis.hlen(this.channelKey(appId, channel)).catch(unavailable)
  }

  async sendToChannel(appId: string, channel: string, frame: Uint8Array, exceptUid = '', audience: ChannelAudience = 'all'): Promise<void> {
    await this.call('SEND_TO_CHANNEL', 1, this.channelKey(appId, channel), this.prefix, Buffer.from(frame.buffer, frame.byteOffset, frame.length), exceptUid, audience)
  }

  async outsideCount(appId: string, channel: string): Promise<OutsideCount> {
    const [count, version] = await this.redis.mget(this.outsideKey(appId, channel), `${this.prefix}outside-version`).catch(unavailable)
    return { count: Number(count ?? 0), version: Number(version ?? 0) }
  }

  health(): { ok: boolean; reason: string } {
    const down = [this.redis, this.listener].find((c) => c.status !== 'ready')
    if (down) return { ok: false, reason: `redis ${down.status}` }
    const silent = Date.now() - this.lastAnswer
    if (silent > 2 * HEARTBEAT_MS + COMMAND_TIMEOUT_MS) return { ok: false, reason: `redis has not answered for ${silent} ms` }
    return { ok: true, reason: '' }
  }

  /** What keeps a write acknowledged by Redis from being durable (empty: nothing known to). */
  async durabilityProblems(): Promise<string[]> {
    try {
      const [, appendonly] = (await this.redis.config('GET', 'appendonly')) as string[]
      const [, fsync] = (await this.redis.config('GET', 'appendfsync')) as string[]
      const problems: string[] = []
      if (appendonly !== 'yes') problems.push(`appendonly is ${appendonly ?? 'unknown'} (wanted yes)`)
      if (fsync !== 'always') problems.push(`appendfsync is ${fsync ?? 'unknown'} (wanted always)`)
      return problems
    } catch (err) {
      return [`could not read Redis's configuration (${err instanceof Error ? err.message : String(err)})`]
    }
  }

  stats(): { sessions: number; subscriptions: number; channels: number } {
    let subscriptions = 0
    for (const set of this.follows.values()) subscriptions += set.size
    return { sessions: this.here.size, subscriptions, channels: this.channelsHere.size }
  }
}

function toMember(raw: string): MemberRecord {
  const m = JSON.parse(raw) as MemberRecord
  return { uid: m.uid, sessionId: m.sessionId, role: m.role, publishGrant: m.publishGrant, ...(m.outside ? { outside: true } : {}) }
}
