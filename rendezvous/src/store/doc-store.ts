import { Decoder, Encoder } from '@plaza/protocol'
import type { Database } from './database.js'

/** A channel document as stored: its Yjs state and when the channel last had a member. */
export interface StoredDoc {
  state: Uint8Array
  lastActiveTs: number
}

/** Our own stored data, not a peer's: read generously (the node caps what it accepts, not what it wrote). */
const MAX_STORED_STATE_BYTES = 16 * 1024 * 1024
const SEP = '\u0000'
const keyOf = (appId: string, channel: string) => `d${SEP}${appId}${SEP}${channel}`

/** Channel documents (attributes) in the shared database, under keys "d\0app\0channel". */
export class DocStore {
  constructor(private readonly db: Database) {}

  async load(appId: string, channel: string): Promise<StoredDoc | null> {
    const value = await this.db.get(keyOf(appId, channel))
    if (value === undefined) return null
    const d = new Decoder(value)
    return { lastActiveTs: d.varuint(), state: Uint8Array.from(d.bytes(MAX_STORED_STATE_BYTES)) }
  }

  /** Durable (fsynced) before it resolves. */
  async save(appId: string, channel: string, doc: StoredDoc): Promise<void> {
    const e = new Encoder(doc.state.length + 16)
    e.varuint(doc.lastActiveTs)
    e.bytes(doc.state)
    await this.db.put(keyOf(appId, channel), e.finish(), { sync: true })
  }

  /** Deletes documents of channels empty since before `cutoff` (ms); `isActive` spares live ones. */
  async sweep(cutoff: number, isActive: (appId: string, channel: string) => boolean): Promise<number> {
    const dead: string[] = []
    for await (const [key, value] of this.db.iterator({ gte: `d${SEP}`, lt: `d${SEP}\uffff` })) {
      const [, appId, channel] = key.split(SEP)
      if (new Decoder(value).varuint() < cutoff && !isActive(appId, channel)) dead.push(key)
    }
    if (dead.length) await this.db.batch(dead.map((key) => ({ type: 'del' as const, key })))
    return dead.length
  }
}
