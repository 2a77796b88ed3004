import { Decoder, Encoder } from '@plaza/protocol'
import { DURABLE, type Database } from './database.js'

/** A channel document as stored: its Yjs state, its generation, and when the channel last had a member. */
export interface StoredDoc {
  state: Uint8Array
  /** The document's generation (see ChannelDocs); 0 for documents stored before generations existed. */
  epoch: number
  lastActiveTs: number
}

/** What is stored for a channel (null: no document) and the store's version of it, which the next write builds on. */
export interface LoadedDoc {
  doc: StoredDoc | null
  version: number
}

/**
 * A write that built on the version stored (the store is at `version` now), or one that did
 * not, because another node wrote first: `current` is what is stored, to merge with and write again.
 */
export type DocWrite = { written: true; version: number } | { written: false; current: LoadedDoc }

/**
 * Channel documents. Several nodes may hold a replica of the same channel's document: each
 * write names the version it builds on (0: none stored) and is refused when another node wrote
 * since, handing back what is stored so the writer merges it (Yjs states merge) and writes again.
 * Nothing one node wrote is overwritten by another's.
 */
export interface DocStore {
  /**
   * Shared by several nodes: a channel's first generation must then be the same on every node
   * (derived from the channel and its store version) before anything is stored.
   */
  readonly shared: boolean
  open(): Promise<void>
  /** How many documents the app has stored (for the quota; on many nodes, as last seen). */
  count(appId: string): number
  load(appId: string, channel: string): Promise<LoadedDoc>
  /** The stored version alone (a shared store: is a replica behind?). */
  version(appId: string, channel: string): Promise<number>
  /** Durable before it resolves. */
  save(appId: string, channel: string, doc: StoredDoc, base: number): Promise<DocWrite>
  /** Deletes the document (it holds no attributes any more). Durable before it resolves. */
  remove(appId: string, channel: string, base: number): Promise<DocWrite>
  /** Deletes documents of channels empty since before `cutoff` (ms); `isActive` spares live ones. */
  sweep(cutoff: number, isActive: (appId: string, channel: string) => Promise<boolean>): Promise<number>
  /** Called when another node wrote a document (replicas of it are stale). */
  onChanged: ((appId: string, channel: string, version: number) => void) | null
}

/** Our own stored data, not a peer's: read generously (the node caps what it accepts, not what it wrote). */
const MAX_STORED_STATE_BYTES = 16 * 1024 * 1024
const SEP = '\u0000'
const keyOf = (appId: string, channel: string) => `e${SEP}${appId}${SEP}${channel}`
/** Where version 0.1 kept documents (no generation); read once, then moved. */
const oldKeyOf = (appId: string, channel: string) => `d${SEP}${appId}${SEP}${channel}`

/**
 * Channel documents (attributes) in the embedded database, under keys "e\0app\0channel". One
 * node writes them: a write always builds on what is stored (versions count from 1 at load).
 */
export class LevelDocStore implements DocStore {
  readonly shared = false
  onChanged: DocStore['onChanged'] = null
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

  async remove(appId: string, channel: string, base: number): Promise<DocWrite> {
    await this.db.batch(
      [
        { type: 'del', key: keyOf(appId, channel) },
        { type: 'del', key: oldKeyOf(appId, channel) },
      ],
      DURABLE,
    )
    if (base > 0) this.bump(appId, -1)
    return { written: true, version: 0 }
  }

  async load(appId: string, channel: string): Promise<LoadedDoc> {
    const value = await this.db.get(keyOf(appId, channel))
    if (value !== undefined) {
      const d = new Decoder(value)
      return { doc: { lastActiveTs: d.varuint(), epoch: d.varuint(), state: Uint8Array.from(d.bytes(MAX_STORED_STATE_BYTES)) }, version: 1 }
    }
    const old = await this.db.get(oldKeyOf(appId, channel))
    if (old === undefined) return { doc: null, version: 0 }
    const d = new Decoder(old)
    return { doc: { lastActiveTs: d.varuint(), epoch: 0, state: Uint8Array.from(d.bytes(MAX_STORED_STATE_BYTES)) }, version: 1 }
  }

  async version(appId: string, channel: string): Promise<number> {
    return (await this.load(appId, channel)).version
  }

  /** Durable (fsynced) before it resolves. Here (one writer) a version is 0 exactly when nothing is stored. */
  async save(appId: string, channel: string, doc: StoredDoc, base: number): Promise<DocWrite> {
    const isNew = base === 0
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
    return { written: true, version: base + 1 }
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
