import type { ClassicLevel } from 'classic-level'
import { Decoder, Encoder, MAX_PEER_FRAME_BYTES, MAX_ID_BYTES, type OfflineMessage } from '@plaza/protocol'

export interface OfflineStoreOptions {
  /** Most messages kept per receiver; the oldest are dropped first. */
  perReceiver: number
  /** How long a message is kept, ms. */
  retentionMs: number
}

/** Offline messages for users who are not logged in. */
export interface OfflineStore {
  /** Resolves once the message is durable (fsynced); only then may the sender hear CACHED_BY_SERVER. */
  put(appId: string, uid: string, from: string, serverTs: number, payload: Uint8Array): Promise<void>
  /** Up to `limit` messages for the receiver, oldest first, expired ones left out. */
  list(appId: string, uid: string, limit: number): Promise<OfflineMessage[]>
  /** Deletes acknowledged messages. */
  remove(appId: string, uid: string, ids: number[]): Promise<void>
  /** Deletes every message past the retention; returns how many. */
  sweepExpired(): Promise<number>
  close(): Promise<void>
}

type Op = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }
interface PendingPut {
  appId: string
  uid: string
  from: string
  serverTs: number
  payload: Uint8Array
  resolve: () => void
  reject: (err: Error) => void
}

const SEP = '\u0000'
const idKey = (id: number) => id.toString(16).padStart(13, '0')
const prefixOf = (appId: string, uid: string) => `o${SEP}${appId}${SEP}${uid}${SEP}`

function encodeValue(from: string, serverTs: number, payload: Uint8Array): Uint8Array {
  const e = new Encoder(payload.length + 80)
  e.varuint(serverTs)
  e.string(from)
  e.bytes(payload)
  return e.finish()
}

function decodeValue(id: number, value: Uint8Array): OfflineMessage {
  const d = new Decoder(value)
  const serverTs = d.varuint()
  const from = d.string(MAX_ID_BYTES)
  const payload = d.bytes(MAX_PEER_FRAME_BYTES)
  return { id, from, serverTs, payload }
}

/**
 * The embedded default: LevelDB (classic-level) on disk. Writes are group-committed: puts
 * that arrive while a batch is being written go together in the next one, each batch
 * written with `sync: true`, so a put resolves only after its bytes reached the disk.
 */
export class LevelOfflineStore implements OfflineStore {
  private queue: PendingPut[] = []
  private writing = false
  /** Next id per receiver, learnt from disk on first use (bounded: ids re-read on a miss). */
  private readonly nextIds = new Map<string, number>()
  private static readonly MAX_CACHED_RECEIVERS = 50_000

  /** `db` is shared with other stores (keys here start with "o\0"); its owner opens and closes it. */
  constructor(
    private readonly db: ClassicLevel<string, Uint8Array>,
    private readonly opts: OfflineStoreOptions,
  ) {}

  put(appId: string, uid: string, from: string, serverTs: number, payload: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ appId, uid, from, serverTs, payload, resolve, reject })
      if (!this.writing) void this.writeLoop()
    })
  }

  private async writeLoop(): Promise<void> {
    this.writing = true
    try {
      while (this.queue.length > 0) {
        const batch = this.queue
        this.queue = []
        try {
          const ops = await this.opsFor(batch)
          await this.db.batch(ops, { sync: true })
          for (const p of batch) p.resolve()
        } catch (err) {
          // Forget cached ids: the failed batch may have consumed some.
          for (const p of batch) this.nextIds.delete(prefixOf(p.appId, p.uid))
          for (const p of batch) p.reject(err as Error)
        }
      }
    } finally {
      this.writing = false
    }
  }

  private async opsFor(batch: PendingPut[]): Promise<Op[]> {
    const puts = new Map<string, Op[]>()
    for (const p of batch) {
      const prefix = prefixOf(p.appId, p.uid)
      const id = await this.takeId(prefix)
      let list = puts.get(prefix)
      if (!list) puts.set(prefix, (list = []))
      list.push({ type: 'put', key: prefix + idKey(id), value: encodeValue(p.from, p.serverTs, p.payload) })
    }
    // Oldest dropped first: trim each receiver to the limit, counting this batch's writes
    // (stored ones go first; past them, the batch's own oldest are simply not written).
    const ops: Op[] = []
    for (const [prefix, list] of puts) {
      const existing = await this.db.keys({ gte: prefix, lt: prefix + '\uffff' }).all()
      const excess = Math.max(0, existing.length + list.length - this.opts.perReceiver)
      for (const key of existing.slice(0, excess)) ops.push({ type: 'del', key })
      ops.push(...list.slice(Math.max(0, excess - existing.length)))
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

  async list(appId: string, uid: string, limit: number): Promise<OfflineMessage[]> {
    const prefix = prefixOf(appId, uid)
    const cutoff = Date.now() - this.opts.retentionMs
    const out: OfflineMessage[] = []
    const expired: string[] = []
    for await (const [key, value] of this.db.iterator({ gte: prefix, lt: prefix + '\uffff' })) {
      const msg = decodeValue(parseInt(key.slice(prefix.length), 16), value)
      if (msg.serverTs < cutoff) expired.push(key)
      else out.push(msg)
      if (out.length >= limit) break
    }
    if (expired.length) await this.db.batch(expired.map((key) => ({ type: 'del' as const, key })))
    return out
  }

  async remove(appId: string, uid: string, ids: number[]): Promise<void> {
    if (ids.length === 0) return
    const prefix = prefixOf(appId, uid)
    await this.db.batch(ids.map((id) => ({ type: 'del' as const, key: prefix + idKey(id) })))
  }

  /** Deletes every expired message (run now and then by the node). */
  async sweepExpired(): Promise<number> {
    const cutoff = Date.now() - this.opts.retentionMs
    const dead: string[] = []
    for await (const [key, value] of this.db.iterator({ gte: 'o' + SEP, lt: 'o' + SEP + '\uffff' })) {
      if (new Decoder(value).varuint() < cutoff) dead.push(key)
    }
    if (dead.length) await this.db.batch(dead.map((key) => ({ type: 'del' as const, key })))
    return dead.length
  }

  /** Waits for queued writes; the database itself is closed by its owner. */
  async close(): Promise<void> {
    while (this.writing || this.queue.length) await new Promise((r) => setTimeout(r, 5))
  }
}
