import type { Redis } from 'ioredis'
import { ErrorCode, MAX_OFFLINE_DROPS, MAX_SEQ_RANGES, PlazaError, type OfflineDrop, type OfflineMessage, type SeqRange } from '@plaza/protocol'
import { decodeValue, encodeValue, type OfflineListing, type OfflinePut, type OfflineStore, type OfflineStoreOptions } from './offline-store.js'
import { OFFLINE_EXPIRE, OFFLINE_PUT, OFFLINE_REMOVE } from './redis-offline-scripts.js'
import { joinId, unavailable } from './redis-keys.js'

type Scripted = Redis & {
  plazaOfflinePut(...args: (string | number | Buffer)[]): Promise<string>
  plazaOfflineRemove(...args: (string | number)[]): Promise<number>
  plazaOfflineExpire(...args: (string | number)[]): Promise<number>
}

const EXPIRE_BATCH = 1000
const noop = () => undefined
const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length)
const limit = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? -1 : n)

/**
 * The offline store on Redis, shared by every node: the same rules as the embedded store (the
 * newest `perReceiver` kept, drops recorded per sender stream, a (sender stream, seq) kept once,
 * quotas per sender and per app), each put or removal one script. A put resolves when Redis
 * has answered, which with `appendfsync always` means the write is in the fsynced AOF.
 */
export class RedisOfflineStore implements OfflineStore {
  private readonly redis: Scripted
  /** Puts sent and not answered yet, per receiver (for `settled`). */
  private readonly inFlight = new Map<string, number>()
  private readonly waiters = new Map<string, (() => void)[]>()

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly opts: OfflineStoreOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.redis = redis as Scripted
    this.redis.defineCommand('plazaOfflinePut', { lua: OFFLINE_PUT, numberOfKeys: 0 })
    this.redis.defineCommand('plazaOfflineRemove', { lua: OFFLINE_REMOVE, numberOfKeys: 0 })
    this.redis.defineCommand('plazaOfflineExpire', { lua: OFFLINE_EXPIRE, numberOfKeys: 0 })
  }

  private app(appId: string): string {
    return `${appId.length}:${appId}`
  }
  private receiver(appId: string, uid: string): string {
    return joinId(appId, uid)
  }

  put(p: OfflinePut): Promise<void> {
    const r = this.receiver(p.appId, p.uid)
    this.inFlight.set(r, (this.inFlight.get(r) ?? 0) + 1)
    const written = this.write(r, p)
    // After the caller's own reactions to the put (as the embedded store does).
    void written.then(noop, noop).then(() => this.done(r))
    return written
  }

  private async write(r: string, p: OfflinePut): Promise<void> {
    const { perApp, perSender } = this.opts
    const outcome = await this.redis
      .plazaOfflinePut(
        this.prefix,
        r,
        this.app(p.appId),
        p.from,
        p.stream,
        p.seq,
        p.serverTs,
        asBuffer(encodeValue(p)),
        p.payload.length,
        this.opts.perReceiver,
        limit(perApp?.messages),
        limit(perApp?.bytes),
        limit(perSender?.messages),
        limit(perSender?.bytes),
        p.senderExempt ? 1 : 0,
        MAX_OFFLINE_DROPS,
        MAX_SEQ_RANGES,
        JSON.stringify(p.skipped ?? []),
      )
      .catch(unavailable)
    if (outcome === 'app' || outcome === 'sender') {
      const q = outcome === 'app' ? perApp : perSender
      throw new PlazaError(ErrorCode.QUOTA_EXCEEDED, `offline store: the ${outcome === 'app' ? "app's" : "sender's"} quota (${q?.messages} messages, ${q?.bytes} bytes) is used up`)
    }
  }

  private done(r: string): void {
    const n = (this.inFlight.get(r) ?? 1) - 1
    if (n > 0) return void this.inFlight.set(r, n)
    this.inFlight.delete(r)
    for (const w of this.waiters.get(r) ?? []) w()
    this.waiters.delete(r)
  }

  settled(appId: string, uid: string): Promise<void> {
    const r = this.receiver(appId, uid)
    if (!this.inFlight.get(r)) return Promise.resolve()
    return new Promise((resolve) => this.waiters.set(r, [...(this.waiters.get(r) ?? []), resolve]))
  }

  async list(appId: string, uid: string, max: number): Promise<OfflineListing> {
    const r = this.receiver(appId, uid)
    const cutoff = this.now() - this.opts.retentionMs
    for (let round = 0; ; round++) {
      const ids = await this.redis.zrange(`${this.prefix}oi:${r}`, '0', String(max - 1)).catch(unavailable)
      const values = ids.length ? await this.redis.hmgetBuffer(`${this.prefix}om:${r}`, ...ids).catch(unavailable) : []
      const messages: OfflineMessage[] = []
      let expired = false
      ids.forEach((id, i) => {
        const v = values[i]
        if (!v) return
        const m = decodeValue(Number(id), v)
        if (m.serverTs < cutoff) expired = true
        else messages.push({ id: m.id, from: m.from, serverTs: m.serverTs, payload: m.payload })
      })
      // Past the retention: removed (and recorded as dropped, so the receiver is told) first.
      if (expired && round === 0) {
        await this.expireBefore(cutoff)
        continue
      }
      return { messages, dropped: await this.drops(r) }
    }
  }

  private async drops(r: string): Promise<OfflineDrop[]> {
    const all = await this.redis.hgetall(`${this.prefix}ox:${r}`).catch(unavailable)
    return Object.entries(all)
      .slice(0, MAX_OFFLINE_DROPS)
      .map(([field, value]) => {
        const [from, stream] = field.split('\u0000')
        const rec = JSON.parse(value) as { c: number; r: SeqRange[] | Record<string, never> }
        return { from, stream, ranges: Array.isArray(rec.r) ? rec.r : [], count: rec.c }
      })
  }

  async remove(appId: string, uid: string, ids: number[], drops: OfflineDrop[]): Promise<void> {
    if (ids.length === 0 && drops.length === 0) return
    const told = JSON.stringify(drops.map((d) => [`${d.from}\u0000${d.stream}`, d.count, d.ranges]))
    await this.redis.plazaOfflineRemove(this.prefix, this.receiver(appId, uid), this.app(appId), JSON.stringify(ids), told).catch(unavailable)
  }

  async sweepExpired(): Promise<number> {
    return this.expireBefore(this.now() - this.opts.retentionMs)
  }

  private async expireBefore(cutoff: number): Promise<number> {
    let total = 0
    for (;;) {
      const n = await this.redis.plazaOfflineExpire(this.prefix, cutoff, EXPIRE_BATCH, MAX_OFFLINE_DROPS, MAX_SEQ_RANGES).catch(unavailable)
      total += n
      if (n < EXPIRE_BATCH) return total
    }
  }

  /** What an app (or one sender in it) holds. */
  async usageOf(appId: string, from?: string): Promise<{ messages: number; bytes: number }> {
    const a = this.app(appId)
    if (from === undefined) {
      const [m, b] = await this.redis.hmget(`${this.prefix}ou:${a}`, 'm', 'b').catch(unavailable)
      return { messages: Number(m ?? 0), bytes: Number(b ?? 0) }
    }
    const [m, b] = await Promise.all([this.redis.hget(`${this.prefix}ousm:${a}`, from), this.redis.hget(`${this.prefix}ousb:${a}`, from)]).catch(unavailable)
    return { messages: Number(m ?? 0), bytes: Number(b ?? 0) }
  }

  async close(): Promise<void> {
    await Promise.all([...this.inFlight.keys()].map((r) => new Promise<void>((resolve) => this.waiters.set(r, [...(this.waiters.get(r) ?? []), resolve]))))
  }
}
