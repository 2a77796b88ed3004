import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as sync from 'y-protocols/sync'
import {
  CHANNEL_ATTRIBUTES_MAP,
  ErrorCode,
  PlazaError,
  checkAttributeTotals,
  readChannelAttributes,
  writeChannelAttributes,
  type AttributeEntry,
  type AttributeOp,
  type ChannelAttribute,
  type TimerHandle,
} from '@plaza/protocol'
import type { DocStore, LoadedDoc, StoredDoc } from '../store/doc-store.js'
import type { NodeRuntime } from '../runtime.js'
import { changedEntries, checkScratch, firstEpoch, liveBytes, sameAttributes, stateMessage, updateMessage } from './doc-rules.js'

interface Replica {
  doc: Y.Doc
  /** The document's generation: a new one starts at every compaction. */
  epoch: number
  /** A copy kept equal to `doc`, where each update is tried first (null: made when needed). */
  scratch: Y.Doc | null
  /** A save waiting for more changes to join it. */
  timer: TimerHandle | null
  /** A save under way (one at a time, so that an older state never lands last). */
  saving: Promise<void> | null
  dirty: boolean
  /** The document is stored (a channel that never had attributes is not). */
  stored: boolean
  /** The store's version this replica last read or wrote: its next write builds on it. */
  version: number
  /** The newest version other nodes announced (newer than `version`: this replica is stale). */
  announced: number
  /** Changes made to the replica so far, and how many of them a write has made durable. */
  changes: number
  durable: number
  lastActiveTs: number
  lastUsed: number
}

/** What a change did, for the caller to tell members. */
export interface DocChange {
  /** The update to pass on (a y-protocols update message), when the generation did not change. */
  update: Uint8Array | null
  /** The generation `update` belongs to. */
  epoch: number
  /** Set when the change started a new generation: the whole new state, as a sync step 2. */
  fresh: { epoch: number; payload: Uint8Array } | null
}

/** Replicas kept in memory besides those of live channels. */
const MAX_IDLE_REPLICAS = 1000
const SAVE_DELAY_MS = 20

/**
 * The node's replica of each channel's Yjs document, the authority for every member: loaded
 * from the store on first use, changed by members' updates and by attribute verbs, persisted
 * after each change. Every update is checked on a scratch copy first (the same limits on every
 * path: key names, value sizes, key count, total size, no other shared types), so a peer can
 * neither break the limits nor make the document unreadable for others. When Yjs bookkeeping
 * outgrows the live attributes the document is compacted into a new generation (`epoch`)
 * seeded from the current values; members on another generation start over from the node's.
 */
export class ChannelDocs {
  private readonly replicas = new Map<string, Replica>()
  private readonly loading = new Map<string, Promise<Replica>>()
  /** The newest version other nodes announced while a replica was being read (it is read again if older). */
  private readonly announced = new Map<string, number>()
  /** New documents (per app) allowed by the quota whose first save is still to come. */
  private readonly coming = new Map<string, Set<string>>()

  /**
   * `compactSlackBytes`: a document whose state exceeds twice what a fresh one holding the same
   * attributes would take, plus this, is compacted. Yjs keeps a few bytes for every writer that
   * ever wrote; a fresh generation keeps none of that history.
   */
  constructor(
    private readonly store: DocStore,
    private readonly rt: NodeRuntime,
    private readonly onError: (err: unknown) => void,
    private readonly compactSlackBytes = 4096,
    private readonly onCompact: () => void = () => undefined,
    /** Channel documents one app may have stored; a write that would store one more is refused QUOTA_EXCEEDED. */
    private readonly perAppQuota = Infinity,
    /** A document was written to (or deleted from) the store. */
    private readonly onWrite: () => void = () => undefined,
  ) {
    store.onChanged = (appId, channel, version) => this.remoteChanged(appId, channel, version)
  }

  /**
   * QUOTA_EXCEEDED when a change would store a new document past the app's quota (counting the
   * new documents whose first save is under way).
   */
  private checkQuota(appId: string, channel: string, r: Replica): void {
    if (r.stored) return
    const coming = this.coming.get(appId) ?? new Set<string>()
    if (coming.has(channel)) return
    if (this.store.count(appId) + coming.size >= this.perAppQuota) {
      throw new PlazaError(ErrorCode.QUOTA_EXCEEDED, `this app has ${this.perAppQuota} channel documents stored (its quota): attributes of a new channel are refused`)
    }
    this.coming.set(appId, coming.add(channel))
  }

  /** A new document's first save ended (stored, or not needed): it counts in the store now, or not at all. */
  private arrived(appId: string, channel: string): void {
    const coming = this.coming.get(appId)
    if (coming?.delete(channel) && coming.size === 0) this.coming.delete(appId)
  }

  private newEpoch(): number {
    return 1 + Math.floor(this.rt.random() * 0x7ffffffe)
  }

  private newDoc(): Y.Doc {
    // A guid given, or Yjs makes a random UUID per document (31 calls to getRandomValues).
    const doc = new Y.Doc({ gc: true, guid: 'channel' })
    doc.clientID = Math.floor(this.rt.random() * 0xffffffff) >>> 0
    return doc
  }

  private async replica(appId: string, channel: string): Promise<Replica> {
    const k = `${appId}\u0000${channel}`
    const ready = this.replicas.get(k)
    if (ready) {
      ready.lastUsed = this.rt.clock.now()
      return ready
    }
    let pending = this.loading.get(k)
    if (!pending) {
      pending = (async () => {
        let loaded = await this.store.load(appId, channel)
        // Another node wrote while this one read: read again, until what was read is the newest announced.
        for (let announced = this.announced.get(k); announced !== undefined && announced > loaded.version; announced = this.announced.get(k)) {
          loaded = await this.store.load(appId, channel)
        }
        this.announced.delete(k)
        const { doc: stored, version } = loaded
        const doc = this.newDoc()
        if (stored) Y.applyUpdate(doc, stored.state)
        const now = this.rt.clock.now()
        // A document stored before generations existed is saved again with one.
        const r: Replica = {
          doc,
          epoch: stored?.epoch || (this.store.shared ? firstEpoch(appId, channel, version) : this.newEpoch()),
          scratch: null,
          timer: null,
          saving: null,
          dirty: !!stored && !stored.epoch,
          stored: !!stored,
          version,
          announced: version,
          changes: 0,
          durable: 0,
          lastActiveTs: stored?.lastActiveTs ?? now,
          lastUsed: now,
        }
        this.replicas.set(k, r)
        this.loading.delete(k)
        this.evictIdle()
        return r
      })()
      pending.catch(() => {
        this.loading.delete(k)
        this.announced.delete(k)
      })
      this.loading.set(k, pending)
    }
    return pending
  }

  /**
   * A member's y-protocols sync message on generation `epoch`. A step 1 gets the node's step 2
   * (the whole state when the member is on another generation); an update is checked, applied
   * and returned to be passed on. An update on another generation is refused with STALE_EPOCH;
   * one that changes the attributes, from a member that may not write them, NOT_PERMITTED.
   */
  async onSync(appId: string, channel: string, epoch: number, payload: Uint8Array, mayWrite = true, writer = ''): Promise<{ reply: { epoch: number; payload: Uint8Array } | null; change: DocChange | null }> {
    const r = await this.replica(appId, channel)
    let type: number
    let body: Uint8Array
    const decoder = decoding.createDecoder(payload)
    try {
      type = decoding.readVarUint(decoder)
      body = decoding.readVarUint8Array(decoder)
    } catch {
      throw new PlazaError(ErrorCode.MALFORMED_FRAME, 'not a y-protocols sync message')
    }
    if (type === sync.messageYjsSyncStep1) {
      // What other nodes wrote is in the answer (a member joining reads through this node).
      await this.catchUp(appId, channel, r)
      if (epoch !== r.epoch) return { reply: { epoch: r.epoch, payload: stateMessage(r.doc) }, change: null }
      const encoder = encoding.createEncoder()
      try {
        sync.writeSyncStep2(encoder, r.doc, body)
      } catch {
        throw new PlazaError(ErrorCode.MALFORMED_FRAME, 'bad state vector')
      }
      return { reply: { epoch: r.epoch, payload: encoding.toUint8Array(encoder) }, change: null }
    }
    if (type !== sync.messageYjsSyncStep2 && type !== sync.messageYjsUpdate) {
      throw new PlazaError(ErrorCode.MALFORMED_FRAME, `unknown sync message ${type}`)
    }
    if (epoch !== r.epoch) throw new PlazaError(ErrorCode.STALE_EPOCH, 'the channel document was compacted: sync again')
    const after = this.check(r, body)
    try {
      this.checkQuota(appId, channel, r)
    } catch (err) {
      this.dropScratch(r)
      throw err
    }
    const before = readChannelAttributes(r.doc.getMap(CHANNEL_ATTRIBUTES_MAP))
    if (!mayWrite && !sameAttributes(after, before)) {
      this.dropScratch(r)
      throw new PlazaError(ErrorCode.NOT_PERMITTED, 'this user may not write channel attributes')
    }
    // A member writes in its own name: what it adds or changes names it as lastUpdateUserId.
    if (writer && changedEntries(after, before).some((a) => a.lastUpdateUserId !== writer)) {
      this.dropScratch(r)
      throw new PlazaError(ErrorCode.NOT_PERMITTED, 'a member writes attributes in its own name (lastUpdateUserId)')
    }
    let changed = false
    const mark = () => (changed = true)
    r.doc.on('update', mark)
    try {
      Y.applyUpdate(r.doc, body, 'member')
    } finally {
      r.doc.off('update', mark)
    }
    if (!changed) return { reply: null, change: null }
    return { reply: null, change: await this.changed(appId, channel, r, updateMessage(body), after) }
  }

  /** An attribute verb from anyone (member or not). Durable before it resolves. */
  async write(appId: string, channel: string, uid: string, op: AttributeOp, attrs: Record<string, string>, keys: string[]): Promise<DocChange | null> {
    const r = await this.replica(appId, channel)
    this.checkQuota(appId, channel, r)
    let update: Uint8Array | null = null
    const capture = (u: Uint8Array) => (update = u)
    r.doc.on('update', capture)
    try {
      r.doc.transact(() => writeChannelAttributes(r.doc.getMap(CHANNEL_ATTRIBUTES_MAP), op, attrs, keys, uid, this.rt.clock.now()), 'node')
    } catch (err) {
      if (!r.stored) this.arrived(appId, channel)
      throw err
    } finally {
      r.doc.off('update', capture)
    }
    if (!update) {
      if (!r.stored) this.arrived(appId, channel)
      return null
    }
    if (r.scratch) Y.applyUpdate(r.scratch, update)
    return this.changed(appId, channel, r, updateMessage(update), readChannelAttributes(r.doc.getMap(CHANNEL_ATTRIBUTES_MAP)))
  }

  async read(appId: string, channel: string, keys: string[]): Promise<AttributeEntry[]> {
    const r = await this.current(appId, channel)
    const all = readChannelAttributes(r.doc.getMap(CHANNEL_ATTRIBUTES_MAP))
    const wanted = keys.length ? keys.filter((k) => all.has(k)) : [...all.keys()]
    return wanted.map((key) => ({ key, ...all.get(key)! }))
  }

  /** The replica, brought up to what is stored when other nodes wrote since (shared stores). */
  private async current(appId: string, channel: string): Promise<Replica> {
    const r = await this.replica(appId, channel)
    await this.catchUp(appId, channel, r)
    return r
  }

  /**
   * Reads what other nodes wrote into the replica, so that an answer given after a write
   * elsewhere was acknowledged includes it (news of it may still be on its way). Changes of this
   * replica not yet written go first (they merge with the stored state as they are written).
   */
  private async catchUp(appId: string, channel: string, r: Replica): Promise<void> {
    if (!this.store.shared) return
    const stored = await this.store.version(appId, channel)
    if (stored <= r.version) return
    if (r.dirty || r.saving) await this.flush(appId, channel).catch(() => undefined)
    if (stored <= r.version || r.dirty || r.saving) return
    const loaded = await this.store.load(appId, channel)
    if (loaded.version <= r.version || r.dirty || r.saving) return
    this.dropScratch(r)
    r.version = loaded.version
    r.stored = !!loaded.doc
    const epoch = loaded.doc?.epoch ?? firstEpoch(appId, channel, loaded.version)
    if (!loaded.doc || epoch !== r.epoch) {
      // Removed elsewhere (no attributes left), or compacted into another generation: start from what is stored.
      r.doc.destroy()
      r.doc = this.newDoc()
      r.epoch = epoch
    }
    if (loaded.doc) {
      Y.applyUpdate(r.doc, loaded.doc.state, 'store')
      r.lastActiveTs = Math.max(r.lastActiveTs, loaded.doc.lastActiveTs)
    }
  }

  /** The channel had a member now (retention counts from the last such moment). */
  async touch(appId: string, channel: string, persist: boolean): Promise<void> {
    const r = await this.replica(appId, channel)
    r.lastActiveTs = this.rt.clock.now()
    // Only a stored document needs its retention clock on disk (when its channel empties).
    if (persist && r.stored) this.schedule(appId, channel, r)
  }

  /** Persists now (after a save under way); rejects if the store fails. */
  async flush(appId: string, channel: string): Promise<void> {
    const r = this.replicas.get(`${appId}\u0000${channel}`)
    if (!r) return
    this.rt.clock.clearTimeout(r.timer)
    r.timer = null
    while (r.dirty || r.saving) await this.save(appId, channel, r)
  }

  async flushAll(): Promise<void> {
    await Promise.all(
      [...this.replicas.keys()].map((k) => {
        const [appId, channel] = k.split('\u0000')
        return this.flush(appId, channel)
      }),
    )
  }

  get size(): number {
    return this.replicas.size
  }

  /** Size of a channel document's state in bytes (for metrics and tests). */
  async stateBytes(appId: string, channel: string): Promise<number> {
    return Y.encodeStateAsUpdate((await this.replica(appId, channel)).doc).length
  }

  /** Persists a change (compacting first if the document outgrew its content); durable on return. */
  private async changed(appId: string, channel: string, r: Replica, update: Uint8Array, attrs: Map<string, ChannelAttribute>): Promise<DocChange> {
    let fresh: DocChange['fresh'] = null
    if (Y.encodeStateAsUpdate(r.doc).length > 2 * liveBytes(attrs) + this.compactSlackBytes) {
      const doc = this.newDoc()
      const map = doc.getMap(CHANNEL_ATTRIBUTES_MAP)
      doc.transact(() => {
        for (const [k, a] of attrs) map.set(k, { value: a.value, lastUpdateUserId: a.lastUpdateUserId, lastUpdateTs: a.lastUpdateTs })
      })
      r.doc.destroy()
      r.doc = doc
      this.dropScratch(r)
      r.epoch = this.newEpoch()
      fresh = { epoch: r.epoch, payload: stateMessage(doc) }
      this.onCompact()
    }
    const mine = ++r.changes
    this.schedule(appId, channel, r)
    await this.flushUntil(appId, channel, r, mine)
    return { update: fresh ? null : update, epoch: r.epoch, fresh }
  }

  /**
   * Writes until change `mine` is durable. A later change's failure (a merge with another node's
   * write that its limits refuse, say) is not this one's: once durable, it stays acknowledged.
   */
  private async flushUntil(appId: string, channel: string, r: Replica, mine: number): Promise<void> {
    this.rt.clock.clearTimeout(r.timer)
    r.timer = null
    while (r.durable < mine) {
      try {
        await this.save(appId, channel, r)
      } catch (err) {
        if (r.durable >= mine) return
        throw err
      }
      if (!r.dirty && !r.saving && r.durable < mine) throw new PlazaError(ErrorCode.INTERNAL, 'channel document change not written')
    }
  }

  /**
   * Applies `update` to the replica's scratch copy (kept equal to the replica between updates)
   * and checks the result; on a refusal the scratch copy is dropped (it is rebuilt when needed).
   */
  private check(r: Replica, update: Uint8Array): Map<string, ChannelAttribute> {
    if (!r.scratch) {
      r.scratch = new Y.Doc({ gc: true, guid: 'scratch' })
      Y.applyUpdate(r.scratch, Y.encodeStateAsUpdate(r.doc))
    }
    const scratch = r.scratch
    try {
      return checkScratch(scratch, update)
    } catch (err) {
      scratch.destroy()
      r.scratch = null
      throw err
    }
  }

  private dropScratch(r: Replica): void {
    r.scratch?.destroy()
    r.scratch = null
  }

  /** Marks a change; it is saved a moment later (changes arriving meanwhile go in the same write). */
  private schedule(appId: string, channel: string, r: Replica): void {
    r.dirty = true
    r.lastUsed = this.rt.clock.now()
    if (r.timer || r.saving) return // a save under way is followed by another (see save)
    r.timer = this.rt.clock.setTimeout(() => {
      r.timer = null
      this.save(appId, channel, r).catch(() => undefined)
    }, SAVE_DELAY_MS)
  }

  /** Writes the current state, one write at a time; resolves once durable, rejects if the store fails. */
  private save(appId: string, channel: string, r: Replica): Promise<void> {
    if (r.saving) return r.saving
    if (!r.dirty) return Promise.resolve()
    r.dirty = false
    // A document without attributes is not kept on disk (gone if it was).
    const empty = r.doc.getMap(CHANNEL_ATTRIBUTES_MAP).size === 0
    // Nothing stored and nothing to store: every change so far is as durable as it needs to be.
    const upTo = r.changes
    const write = empty && !r.stored ? Promise.resolve().then(() => void (r.durable = Math.max(r.durable, upTo))) : this.writeReplica(appId, channel, r, empty)
    r.saving = write
      .then(() => this.arrived(appId, channel))
      .catch((err: unknown) => {
        // What is stored was taken instead (see merge): nothing of this replica is left to write.
        if (err instanceof PlazaError && (err.code === ErrorCode.STALE_EPOCH || err.code === ErrorCode.ATTRIBUTES_TOO_LARGE)) throw err
        r.dirty = true
        this.onError(err)
        throw err
      })
      .finally(() => {
        r.saving = null
        if (r.dirty) this.schedule(appId, channel, r)
        else this.dropIfStale(`${appId}\u0000${channel}`, r)
      })
    return r.saving
  }

  /**
   * One write of the replica. If another node wrote since this replica's version, what it
   * stored is merged in and the replica is dirty again (the save loop writes the merge); from
   * another generation, that generation is taken and the changes not yet written are refused
   * (STALE_EPOCH: their writers sync and write again).
   */
  private async writeReplica(appId: string, channel: string, r: Replica, empty: boolean): Promise<void> {
    const upTo = r.changes
    const out = empty
      ? await this.store.remove(appId, channel, r.version)
      : await this.store.save(appId, channel, { state: Y.encodeStateAsUpdate(r.doc), epoch: r.epoch, lastActiveTs: r.lastActiveTs }, r.version)
    if (out.written) {
      r.version = out.version
      r.stored = !empty
      r.durable = Math.max(r.durable, upTo)
      this.onWrite()
      return
    }
    this.merge(r, out.current)
  }

  private merge(r: Replica, { doc: current, version }: LoadedDoc): void {
    this.dropScratch(r)
    r.dirty = true
    r.version = version
    r.stored = !!current
    if (!current) return
    r.lastActiveTs = Math.max(r.lastActiveTs, current.lastActiveTs)
    if (current.epoch === r.epoch) {
      Y.applyUpdate(r.doc, current.state, 'store')
      // Each side kept the limits; together they may not (two nodes adding keys at once): then
      // what is stored stands and this replica's changes not yet written are refused.
      const attrs = readChannelAttributes(r.doc.getMap(CHANNEL_ATTRIBUTES_MAP))
      try {
        checkAttributeTotals('channel', new Map([...attrs].map(([k, a]) => [k, a.value])))
        return
      } catch (err) {
        this.adopt(r, current)
        throw err instanceof PlazaError ? new PlazaError(err.code, `${err.message} (with what was written through another node at the same time)`) : err
      }
    }
    this.adopt(r, current)
    throw new PlazaError(ErrorCode.STALE_EPOCH, 'the channel document was compacted elsewhere: sync again')
  }

  /** The replica becomes what is stored; its own changes not yet written are dropped. */
  private adopt(r: Replica, current: StoredDoc): void {
    r.doc.destroy()
    r.doc = this.newDoc()
    Y.applyUpdate(r.doc, current.state, 'store')
    r.epoch = current.epoch
    r.dirty = false
  }

  /** Another node wrote the document: a replica with nothing of its own to write is read again at its next use. */
  private remoteChanged(appId: string, channel: string, version: number): void {
    const k = `${appId}\u0000${channel}`
    if (this.loading.has(k)) this.announced.set(k, Math.max(version, this.announced.get(k) ?? 0))
    const r = this.replicas.get(k)
    if (!r) return
    r.announced = Math.max(r.announced, version)
    this.dropIfStale(k, r)
  }

  /**
   * A replica behind what other nodes wrote, with nothing of its own to write, is read again at
   * its next use. (One busy when the news came is checked when it is idle again: its own write
   * may have been answered after the news of a later one.)
   */
  private dropIfStale(k: string, r: Replica): void {
    if (r.announced <= r.version || r.dirty || r.saving || r.timer || this.replicas.get(k) !== r) return
    this.replicas.delete(k)
    this.dropScratch(r)
  }

  private evictIdle(): void {
    if (this.replicas.size <= MAX_IDLE_REPLICAS) return
    const byAge = [...this.replicas].filter(([, r]) => !r.dirty && !r.saving && !r.timer).sort((a, b) => a[1].lastUsed - b[1].lastUsed)
    for (const [k, r] of byAge.slice(0, this.replicas.size - MAX_IDLE_REPLICAS)) {
      r.doc.destroy()
      this.dropScratch(r)
      this.replicas.delete(k)
    }
  }
}
