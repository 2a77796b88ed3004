import {
  Decoder,
  Encoder,
  MAX_ID_BYTES,
  MAX_OFFLINE_DROPS,
  MAX_PEER_FRAME_BYTES,
  MAX_SEQ_RANGES,
  MAX_STREAM_ID_BYTES,
  ErrorCode,
  PlazaError,
  mergeRanges,
  sameRanges,
  type OfflineDrop,
  type OfflineMessage,
  type SeqRange,
} from '@plaza/protocol'
import { DURABLE, type Database } from './database.js'
import { OfflineUsage, type Quota } from './offline-quota.js'

export interface OfflineStoreOptions {
  /** Most messages kept per receiver; the oldest are dropped first (and the receiver is told). */
  perReceiver: number
  /** How long a message is kept, ms. */
  retentionMs: number
  /** What one sender may hold for all its offline receivers together. Default: no bound. */
  perSender?: Quota
  /** What one app may hold in all. Default: no bound. */
  perApp?: Quota
}

const UNBOUNDED: Quota = { messages: Infinity, bytes: Infinity }

/** A message to keep for an offline receiver; `stream` and `seq` come from its peer frame header. */
export interface OfflinePut {
  appId: string
  uid: string
  from: string
  serverTs: number
  stream: string
  seq: number
  payload: Uint8Array
  /** Not held to the per-sender quota (messages the app's server sends through REST); the app's quota still holds. */
  senderExempt?: boolean
  /**
   * Seqs of this stream below `seq` that will never come (the node answered them PEER_OFFLINE:
   * plain messages, not to be stored): put in the receiver's drop record without counting as
   * dropped, so that the receiver does not wait for them in front of this message.
   */
  skipped?: SeqRange[]
}

/** What a receiver gets at login: its stored messages, oldest first, and what the cap dropped. */
export interface OfflineListing {
  messages: OfflineMessage[]
  dropped: OfflineDrop[]
}

/** Offline messages for users who are not logged in. */
export interface OfflineStore {
  /**
   * Resolves once the message is durable (fsynced); only then may the sender hear
   * CACHED_BY_SERVER. If the cap drops it (or older ones) the drop is recorded for the receiver.
   * Rejects QUOTA_EXCEEDED, writing nothing, when the sender or its app holds too much already.
   */
  put(p: OfflinePut): Promise<void>
  /** Resolves once every put for this receiver accepted so far is written (or failed). */
  settled(appId: string, uid: string): Promise<void>
  /** Up to `limit` messages for the receiver, oldest first, expired ones left out; and the drop records. */
  list(appId: string, uid: string, limit: number): Promise<OfflineListing>
  /** Deletes acknowledged messages, and the drop records that were delivered with them. */
  remove(appId: string, uid: string, ids: number[], drops: OfflineDrop[]): Promise<void>
  /** Deletes every message past the retention; returns how many. */
  sweepExpired(): Promise<number>
  close(): Promise<void>
}

type Op = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }
interface PendingPut extends OfflinePut {
  resolve: () => void
  reject: (err: Error) => void
}
interface Stored {
  key: string
  from: string
  stream: string
  seq: number
}
/** What goes into one sender stream's drop record: seqs not to wait for, and how many of them count as dropped. */
interface DropEntry {
  from: string
  stream: string
  ranges: SeqRange[]
  counted: number
}
const dropOf = (d: Stored): DropEntry => ({ from: d.from, stream: d.stream, ranges: [[d.seq, d.seq]], counted: 1 })
/** A message counted in the usage that the batch does not keep. */
interface Uncounted {
  appId: string
  from: string
  bytes: number
}

const SEP = '\u0000'
const idKey = (id: number) => id.toString(16).padStart(13, '0')
const prefixOf = (appId: string, uid: string) => `o${SEP}${appId}${SEP}${uid}${SEP}`
const dropPrefixOf = (appId: string, uid: string) => `x${SEP}${appId}${SEP}${uid}${SEP}`
const dropKey = (appId: string, uid: string, from: string, stream: string) => `${dropPrefixOf(appId, uid)}${from}${SEP}${stream}`
/** Marks that a sender stream's seq is held (a sender that reloads may relay it again: it is kept once). */
const heldKey = (appId: string, uid: string, from: string, stream: string, seq: number) => `s${SEP}${appId}${SEP}${uid}${SEP}${from}${SEP}${stream}${SEP}${seq.toString(16)}`
const NOTHING = new Uint8Array(0)

/** A stored message as bytes (both stores keep this form). */
export function encodeValue(p: OfflinePut): Uint8Array {
  const e = new Encoder(p.payload.length + 96)
  e.varuint(p.serverTs)
  e.string(p.from)
  e.string(p.stream)
  e.varuint(p.seq)
  e.bytes(p.payload)
  return e.finish()
}

export function decodeValue(id: number, value: Uint8Array): OfflineMessage & { stream: string; seq: number } {
  const d = new Decoder(value)
  const serverTs = d.varuint()
  const from = d.string(MAX_ID_BYTES)
  const stream = d.string(MAX_STREAM_ID_BYTES)
  const seq = d.varuint()
  return { id, from, serverTs, stream, seq, payload: d.bytes(MAX_PEER_FRAME_BYTES) }
}

function encodeDrop(ranges: SeqRange[], count: number): Uint8Array {
  const e = new Encoder(16 + ranges.length * 8)
  e.varuint(count)
  e.varuint(ranges.length)
  for (const [a, b] of ranges) {
    e.varuint(a)
    e.varuint(b)
  }
  return e.finish()
}

function decodeDrop(value: Uint8Array): { ranges: SeqRange[]; count: number } {
  const d = new Decoder(value)
  const count = d.varuint()
  const ranges: SeqRange[] = []
  for (let n = d.count(MAX_SEQ_RANGES); n > 0; n--) ranges.push([d.varuint(), d.varuint()])
  return { ranges, count }
}

/**
 * The embedded default: LevelDB (classic-level) on disk. Writes are group-committed: puts
 * that arrive while a batch is being written go together in the next one, each batch
 * written with `sync: true`, so a put resolves only after its bytes reached the disk. The cap
 * drops a receiver's oldest messages in the same batch that adds new ones, and records what it
 * dropped (per sender stream) so that the receiver is told instead of waiting for them. A
 * message is kept once: a copy of a (sender stream, seq) already held, or already dropped, is
 * not written again (a sender whose page reloads before it saved "stored" relays it again).
 */
export class LevelOfflineStore implements OfflineStore {
  private queue: PendingPut[] = []
  private writing: Promise<void> | null = null
  /** Next id per receiver, learnt from disk on first use (bounded: ids re-read on a miss). */
  private readonly nextIds = new Map<string, number>()
  /** Puts accepted and not yet written, per receiver. */
  private readonly inFlight = new Map<string, number>()
  private readonly waiters = new Map<string, (() => void)[]>()
  private static readonly MAX_CACHED_RECEIVERS = 50_000
  readonly usage: OfflineUsage

  /** `db` is shared with other stores (keys here start with "o\0", "s\0" and "x\0"); its owner opens and closes it. */
  constructor(
    private readonly db: Database,
    private readonly opts: OfflineStoreOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.usage = new OfflineUsage(opts.perSender ?? UNBOUNDED, opts.perApp ?? UNBOUNDED)
  }

  /** Counts what is stored, per sender and per app (once, after the database is open). */
  async open(): Promise<void> {
    this.usage.clear()
    for await (const [key, value] of this.db.iterator({ gte: 'o' + SEP, lt: 'o' + SEP + '\uffff' })) {
      const m = decodeValue(0, value)
      this.usage.add(key.split(SEP)[1], m.from, m.payload.length)
    }
  }

  put(p: OfflinePut): Promise<void> {
    const over = this.usage.reserve(p.appId, p.from, p.payload.length, p.senderExempt)
    if (over) return this.refuse(p, over)
    const k = prefixOf(p.appId, p.uid)
    this.inFlight.set(k, (this.inFlight.get(k) ?? 0) + 1)
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...p, resolve, reject })
      this.writing ??= this.writeLoop()
    })
  }

  /** Past a quota: refused, unless this very message is held already (a sender relaying it again after a reload). */
  private async refuse(p: OfflinePut, over: 'app' | 'sender'): Promise<void> {
    if (await this.known(p)) return
    const q = over === 'app' ? this.opts.perApp : this.opts.perSender
    throw new PlazaError(ErrorCode.QUOTA_EXCEEDED, `offline store: the ${over === 'app' ? "app's" : "sender's"} quota (${q?.messages} messages, ${q?.bytes} bytes) is used up`)
  }

  settled(appId: string, uid: string): Promise<void> {
    const k = prefixOf(appId, uid)
    if (!this.inFlight.get(k)) return Promise.resolve()
    return new Promise((resolve) => {
      const list = this.waiters.get(k) ?? []
      list.push(resolve)
      this.waiters.set(k, list)
    })
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue
        this.queue = []
        try {
          const { ops, uncounted } = await this.opsFor(batch)
          await this.db.batch(ops, DURABLE)
          for (const u of uncounted) this.usage.release(u.appId, u.from, u.bytes)
          for (const p of batch) p.resolve()
        } catch (err) {
          for (const p of batch) this.usage.release(p.appId, p.from, p.payload.length)
          // Forget cached ids: the failed batch may have consumed some.
          for (const p of batch) this.nextIds.delete(prefixOf(p.appId, p.uid))
          for (const p of batch) p.reject(err as Error)
        } finally {
          for (const p of batch) this.done(prefixOf(p.appId, p.uid))
        }
      }
    } finally {
      this.writing = null
    }
  }

  private done(k: string): void {
    const n = (this.inFlight.get(k) ?? 1) - 1
    if (n > 0) return void this.inFlight.set(k, n)
    this.inFlight.delete(k)
    for (const w of this.waiters.get(k) ?? []) w()
    this.waiters.delete(k)
  }

  /** The batch's writes, and what its commit takes out of the usage (copies not written, messages the cap drops). */
  private async opsFor(batch: PendingPut[]): Promise<{ ops: Op[]; uncounted: Uncounted[] }> {
    const byReceiver = new Map<string, { appId: string; uid: string; puts: { key: string; p: PendingPut }[] }>()
    const seen = new Set<string>()
    const uncounted: Uncounted[] = []
    // Seqs to skip, per receiver: recorded whether or not the put they came with is written.
    const skips = new Map<string, { appId: string; uid: string; entries: DropEntry[] }>()
    for (const p of batch) {
      if (!p.skipped?.length) continue
      const prefix = prefixOf(p.appId, p.uid)
      let k = skips.get(prefix)
      if (!k) skips.set(prefix, (k = { appId: p.appId, uid: p.uid, entries: [] }))
      k.entries.push({ from: p.from, stream: p.stream, ranges: p.skipped, counted: 0 })
    }
    for (const p of batch) {
      const held = heldKey(p.appId, p.uid, p.from, p.stream, p.seq)
      if (seen.has(held) || (await this.known(p))) {
        uncounted.push({ appId: p.appId, from: p.from, bytes: p.payload.length })
        continue
      }
      seen.add(held)
      const prefix = prefixOf(p.appId, p.uid)
      const id = await this.takeId(prefix)
      let r = byReceiver.get(prefix)
      if (!r) byReceiver.set(prefix, (r = { appId: p.appId, uid: p.uid, puts: [] }))
      r.puts.push({ key: prefix + idKey(id), p })
    }
    // Oldest dropped first: trim each receiver to the cap, counting this batch's writes (stored
    // ones go first; past them, the batch's own oldest are not written), and record the drops.
    const ops: Op[] = []
    for (const [prefix, r] of byReceiver) {
      const existing = await this.db.keys({ gte: prefix, lt: prefix + '\uffff' }).all()
      const excess = Math.max(0, existing.length + r.puts.length - this.opts.perReceiver)
      const droppedStored = existing.slice(0, excess)
      const droppedNew = r.puts.slice(0, Math.max(0, excess - existing.length))
      const dropped: Stored[] = []
      const values = droppedStored.length ? await this.db.getMany(droppedStored) : []
      droppedStored.forEach((key, i) => {
        const v = values[i]
        if (v) {
          const m = decodeValue(0, v)
          dropped.push({ key, from: m.from, stream: m.stream, seq: m.seq })
          uncounted.push({ appId: r.appId, from: m.from, bytes: m.payload.length })
          ops.push({ type: 'del', key: heldKey(r.appId, r.uid, m.from, m.stream, m.seq) })
        }
        ops.push({ type: 'del', key })
      })
      for (const { key, p } of droppedNew) {
        dropped.push({ key, from: p.from, stream: p.stream, seq: p.seq })
        uncounted.push({ appId: p.appId, from: p.from, bytes: p.payload.length })
      }
      for (const { key, p } of r.puts.slice(droppedNew.length)) {
        ops.push({ type: 'put', key, value: encodeValue(p) })
        ops.push({ type: 'put', key: heldKey(p.appId, p.uid, p.from, p.stream, p.seq), value: NOTHING })
      }
      const entries = [...dropped.map(dropOf), ...(skips.get(prefix)?.entries ?? [])]
      skips.delete(prefix)
      if (entries.length) ops.push(...(await this.recordDrops(r.appId, r.uid, entries)))
    }
    // Skips for a receiver none of whose puts is written (copies held already).
    for (const k of skips.values()) ops.push(...(await this.recordDrops(k.appId, k.uid, k.entries)))
    return { ops, uncounted }
  }

  /** True when this (sender stream, seq) is held already, or was dropped (and the receiver is or will be told). */
  private async known(p: OfflinePut): Promise<boolean> {
    if ((await this.db.get(heldKey(p.appId, p.uid, p.from, p.stream, p.seq))) !== undefined) return true
    const drop = await this.db.get(dropKey(p.appId, p.uid, p.from, p.stream))
    return drop !== undefined && decodeDrop(drop).ranges.some(([a, b]) => a <= p.seq && p.seq <= b)
  }

  /** Merges dropped (and skipped) seqs into the receiver's drop records (bounded per receiver). */
  private async recordDrops(appId: string, uid: string, dropped: DropEntry[]): Promise<Op[]> {
    const byStream = new Map<string, DropEntry[]>()
    for (const d of dropped) {
      const k = dropKey(appId, uid, d.from, d.stream)
      byStream.set(k, [...(byStream.get(k) ?? []), d])
    }
    const prefix = dropPrefixOf(appId, uid)
    const known = new Set(await this.db.keys({ gte: prefix, lt: prefix + '\uffff' }).all())
    const ops: Op[] = []
    for (const [key, list] of byStream) {
      // Past the cap on records a drop is still counted, without its seqs (under its sender's '' stream).
      const counted = list.reduce((n, d) => n + d.counted, 0)
      let k = key
      if (!known.has(k) && known.size >= MAX_OFFLINE_DROPS) {
        // Seqs to skip without a record to hold them: the receiver's gap timeout covers them.
        if (counted === 0) continue
        k = dropKey(appId, uid, list[0].from, '')
      }
      if (!known.has(k) && known.size >= MAX_OFFLINE_DROPS) continue
      const stored = known.has(k) ? await this.db.get(k) : undefined
      let { ranges, count } = stored ? decodeDrop(stored) : { ranges: [] as SeqRange[], count: 0 }
      if (k === key) for (const d of list) ranges = mergeRanges(ranges, d.ranges)
      count += counted
      known.add(k)
      ops.push({ type: 'put', key: k, value: encodeDrop(ranges, count) })
    }
    return ops
  }

  private async takeId(prefix: string): Promise<number> {
    let next = this.nextIds.get(prefix)
    if (next === undefined) {
      const last = await this.db.keys({ gte: prefix, lt: prefix + '\uffff', reverse: true, limit: 1 }).all()
      next = last.length ? parseInt(last[0].slice(prefix.length), 16) + 1 : 1
      if (this.nextIds.size >= LevelOfflineStore.MAX_CACHED_RECEIVERS) {
        const oldest = this.nextIds.keys().next().value
        if (oldest !== undefined) this.nextIds.delete(oldest)
      }
    }
    this.nextIds.set(prefix, next + 1)
    return next
  }

  async list(appId: string, uid: string, limit: number): Promise<OfflineListing> {
    const prefix = prefixOf(appId, uid)
    const cutoff = this.now() - this.opts.retentionMs
    const messages: OfflineMessage[] = []
    const expired: string[] = []
    for await (const [key, value] of this.db.iterator({ gte: prefix, lt: prefix + '\uffff' })) {
      const m = decodeValue(parseInt(key.slice(prefix.length), 16), value)
      if (m.serverTs < cutoff) expired.push(key)
      else messages.push({ id: m.id, from: m.from, serverTs: m.serverTs, payload: m.payload })
      if (messages.length >= limit) break
    }
    if (expired.length) await this.expire(expired)
    const dropped: OfflineDrop[] = []
    const dp = dropPrefixOf(appId, uid)
    for await (const [key, value] of this.db.iterator({ gte: dp, lt: dp + '\uffff', limit: MAX_OFFLINE_DROPS })) {
      const [from, stream] = key.slice(dp.length).split(SEP)
      dropped.push({ from, stream, ...decodeDrop(value) })
    }
    return { messages, dropped }
  }

  async remove(appId: string, uid: string, ids: number[], drops: OfflineDrop[]): Promise<void> {
    if (ids.length === 0 && drops.length === 0) return
    const prefix = prefixOf(appId, uid)
    const keys = ids.map((id) => prefix + idKey(id))
    const values = ids.length ? await this.db.getMany(keys) : []
    const ops: Op[] = [...keys.map((key): Op => ({ type: 'del', key })), ...this.heldOf(keys, values)]
    // A drop record told to the receiver goes, unless more drops were added to it since.
    for (const d of drops) {
      const key = dropKey(appId, uid, d.from, d.stream)
      const v = await this.db.get(key)
      const cur = v && decodeDrop(v)
      if (cur && cur.count === d.count && sameRanges(cur.ranges, d.ranges)) ops.push({ type: 'del', key })
    }
    await this.db.batch(ops, DURABLE)
    this.uncount(keys, values)
  }

  /** The messages at `keys` (with these values) left the store. */
  private uncount(keys: string[], values: (Uint8Array | undefined)[]): void {
    keys.forEach((key, i) => {
      const v = values[i]
      if (!v) return
      const m = decodeValue(0, v)
      this.usage.release(key.split(SEP)[1], m.from, m.payload.length)
    })
  }

  /** Deletes every expired message (run now and then by the node). */
  async sweepExpired(): Promise<number> {
    const cutoff = this.now() - this.opts.retentionMs
    const dead: string[] = []
    for await (const [key, value] of this.db.iterator({ gte: 'o' + SEP, lt: 'o' + SEP + '\uffff' })) {
      if (new Decoder(value).varuint() < cutoff) dead.push(key)
    }
    if (dead.length) await this.expire(dead)
    return dead.length
  }

  /** Deletes messages past the retention, recorded as dropped so that their receivers are told. */
  private async expire(keys: string[]): Promise<void> {
    const values = await this.db.getMany(keys)
    const byReceiver = new Map<string, Stored[]>()
    keys.forEach((key, i) => {
      const v = values[i]
      if (!v) return
      const [, appId, uid] = key.split(SEP)
      const m = decodeValue(0, v)
      const k = `${appId}${SEP}${uid}`
      byReceiver.set(k, [...(byReceiver.get(k) ?? []), { key, from: m.from, stream: m.stream, seq: m.seq }])
    })
    const ops: Op[] = [...keys.map((key): Op => ({ type: 'del', key })), ...this.heldOf(keys, values)]
    for (const [k, list] of byReceiver) {
      const [appId, uid] = k.split(SEP)
      ops.push(...(await this.recordDrops(appId, uid, list.map(dropOf))))
    }
    await this.db.batch(ops, DURABLE)
    this.uncount(keys, values)
  }

  /** Deletions of the "held" marks of the messages at `keys` (whose values are `values`). */
  private heldOf(keys: string[], values: (Uint8Array | undefined)[]): Op[] {
    const ops: Op[] = []
    keys.forEach((key, i) => {
      const v = values[i]
      if (!v) return
      const [, appId, uid] = key.split(SEP)
      const m = decodeValue(0, v)
      ops.push({ type: 'del', key: heldKey(appId, uid, m.from, m.stream, m.seq) })
    })
    return ops
  }

  /** Waits for queued writes; the database itself is closed by its owner. */
  async close(): Promise<void> {
    while (this.writing) await this.writing
  }
}
