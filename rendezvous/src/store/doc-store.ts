import { Decoder, Encoder } from '@plaza/protocol'
import { DURABLE, type Database } from './database.js'

/** A channel document as stored: its Yjs state, its generation, and when the channel last had a member. */
export interface StoredDoc {
  state: Uint8Array
  /** The document's generation (see ChannelDocs); 0 for documents stored before generations existed. */
  epoch: number
  lastActiveTs: number
}

/** Our own stored data, not a peer's: read generously (the node caps what it accepts, not what it wrote). */
const MAX_STORED_STATE_BYTES = 16 * 1024 * 1024
const SEP = '\u0000'
const keyOf = (appId: string, channel: string) => `e${SEP}${appId}${SEP}${channel}`
/** Where version 0.1 kept documents (no generation); read once, then moved. */
const oldKeyOf = (appId: string, channel: string) => `d${SEP}${appId}${SEP}${channel}`

/** Channel documents (attributes) in the shared database, under keys "e\0app\0channel". */
export class DocStore {
  /** Documents stored per app. */
  private readonly counts = new Map<string, number>()

  constructor(private readonly db: Database) {}

  /** Counts the stored documents of each app (once, after the database is open). */
  async open(): Promise<void> {
    this.counts.clear()
    for (const prefix of ['e', 'd']) {
      for await (const key of this.db.keys({ gte: `${prefix}${SEP}`, lt: `${prefix}${SEP}\uffff` })) this.bump(key.split(SEP)[1], 1)
    }
  }

  /** How many documents the app has stored. */
  count(appId: string): number {
    return this.counts.get(appId) ?? 0
  }

  private bump(appId: string, n: number): void {
    const c = (this.counts.get(appId) ?? 0) + n
    if (c > 0) this.counts.set(appId, c)
    else this.counts.delete(appId)
  }

  /** Deletes a stored channel document (it holds no attributes any more). Durable before it resolves. */
  async remove(appId: string, channel: string): Promise<void> {
    await this.db.batch(
      [
        { type: 'del', key: keyOf(appId, channel) },
        { type: 'del', key: oldKeyOf(appId, channel) },
      ],
      DURABLE,
    )
    this.bump(appId, -1)
  }

  async load(appId: string, channel: string): Promise<StoredDoc | null> {
    const value = await this.db.get(keyOf(appId, channel))
    if (value !== undefined) {
      const d = new Decoder(value)
      return { lastActiveTs: d.varuint(), epoch: d.varuint(), state: Uint8Array.from(d.bytes(MAX_STORED_STATE_BYTES)) }
    }
    const old = await this.db.get(oldKeyOf(appId, channel))
    if (old === undefined) return null
    const d = new Decoder(old)
    return { lastActiveTs: d.varuint(), epoch: 0, state: Uint8Array.from(d.bytes(MAX_STORED_STATE_BYTES)) }
  }

  /** Durable (fsynced) before it resolves. `isNew`: the channel had no document stored (it counts in its app's now). */
  async save(appId: string, channel: string, doc: StoredDoc, isNew = false): Promise<void> {
    const e = new Encoder(doc.state.length + 24)
    e.varuint(doc.lastActiveTs)
    e.varuint(doc.epoch)
    e.bytes(doc.state)
    await this.db.batch(
      [
        { type: 'put', key: keyOf(appId, channel), value: e.finish() },
        { type: 'del', key: oldKeyOf(appId, channel) },
      ],
      DURABLE,
    )
    if (isNew) this.bump(appId, 1)
  }

  /** Deletes documents of channels empty since before `cutoff` (ms); `isActive` spares live ones. */
  async sweep(cutoff: number, isActive: (appId: string, channel: string) => Promise<boolean>): Promise<number> {
    const dead: string[] = []
    for (const prefix of ['e', 'd']) {
      for await (const [key, value] of this.db.iterator({ gte: `${prefix}${SEP}`, lt: `${prefix}${SEP}\uffff` })) {
        const [, appId, channel] = key.split(SEP)
        if (new Decoder(value).varuint() < cutoff && !(await isActive(appId, channel))) dead.push(key)
      }
    }
    if (dead.length) await this.db.batch(dead.map((key) => ({ type: 'del' as const, key })))
    for (const key of dead) this.bump(key.split(SEP)[1], -1)
    return dead.length
  }
}
