import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as sync from 'y-protocols/sync'
import {
  CHANNEL_ATTRIBUTES_MAP,
  Decoder,
  Encoder,
  ErrorCode,
  FrameType,
  MAX_ATTRIBUTE_KEYS,
  MAX_ATTRIBUTE_KEY_BYTES,
  MAX_ATTRIBUTE_VALUE_BYTES,
  PlazaError,
  SyncKind,
  readChannelAttributes,
  writeChannelAttributes,
  type AttributeOp,
  type ChannelAttribute,
  type ClientFrame,
  type ServerFrame,
  type TimerHandle,
} from '@plaza/protocol'
import type { Runtime } from '../runtime.js'

export type ChannelAttributes = Record<string, ChannelAttribute>

/** What a channel document needs from its client. */
export interface ChannelDocHost {
  readonly uid: string
  readonly requestTimeoutMs: number
  request(build: (reqId: number) => ClientFrame): Promise<ServerFrame>
  sendToNode(frame: ClientFrame): boolean
  loadCache(channel: string): Promise<Uint8Array | undefined>
  saveCache(channel: string, produce: () => Uint8Array | null): void
}

/** An attribute verb written here and not yet confirmed by the node. */
interface PendingWrite {
  op: AttributeOp
  attrs: Record<string, string>
  keys: string[]
  notify: boolean
  ts: number
  /** The Yjs update it made on this replica, and on which generation; null: to be made again. */
  update: Uint8Array | null
  epoch: number
  /** A request for it is under way. */
  sending: boolean
  /** The replica it was made on (a newer one means it can be made again at once). */
  madeOn: Y.Doc | null
  settle: ((err: PlazaError | null) => void) | null
}

const REMOTE = 'remote'
const CACHE_VERSION = 2
/** Pending writes kept (and cached) at most: the attribute write rate limit keeps it far below. */
const MAX_PENDING_WRITES = 256

/**
 * One member's replica of a channel's attribute document. The node holds the authoritative
 * replica: it checks every write against the limits and passes accepted ones to all members,
 * so members apply only what the node sanctioned, plus their own writes until the node
 * confirms or refuses them.
 *
 * A sync asks the node for its whole state and replaces this replica with it (a cached replica
 * is only shown until then: it may hold writes the node never got). The node answers state
 * requests in order, after everything sent before them, so the answer to the latest request
 * already holds (or refused) every write sent before it; writes not sent yet are made again on
 * top of it. When the node compacts the document it starts a new generation (`epoch`) and
 * sends it to all; a write made on an older generation, or on changes the node does not have,
 * is refused STALE_EPOCH and made again on the current one. The document's size follows the
 * live attributes, never the number of writers.
 */
export class ChannelDoc {
  epoch = 0
  doc: Y.Doc
  private pending: PendingWrite[] = []
  /** Resolved by the answer to our latest state request. */
  private syncing: { resolve: () => void; reject: (e: PlazaError) => void; timer: TimerHandle } | null = null
  private live = false
  /** State requests sent, and answers received (the node answers each, in order, after what was sent before it). */
  private requests = 0
  private answers = 0
  private cacheLoaded: Promise<void> | null = null

  constructor(
    readonly channelId: string,
    private readonly host: ChannelDocHost,
    private readonly rt: Runtime,
    /** The attributes changed; `notify`: the writer asked members to be told. */
    private readonly onChange: (notify: boolean) => void,
  ) {
    this.doc = this.newDoc()
  }

  /** The attributes as this replica holds them. */
  attributes(): ChannelAttributes {
    return Object.fromEntries(readChannelAttributes(this.doc.getMap(CHANNEL_ATTRIBUTES_MAP)))
  }

  private get awaitingState(): boolean {
    return this.answers < this.requests
  }

  /** Loads the cached replica (and unconfirmed writes) once; later calls wait for the same load. */
  loadCached(): Promise<void> {
    this.cacheLoaded ??= this.host
      .loadCache(this.channelId)
      .then((bytes) => {
        if (bytes && !this.live) this.fromCache(bytes)
      })
      .catch(() => undefined)
    return this.cacheLoaded
  }

  /** Syncs with the node's replica (after a join, a fresh session, or a resume); resolves once in sync. */
  sync(): Promise<void> {
    this.live = true
    this.syncing?.reject(new PlazaError(ErrorCode.CONNECTION_LOST, 'sync started again'))
    const done = new Promise<void>((resolve, reject) => {
      const timer = this.rt.clock.setTimeout(() => {
        this.syncing = null
        reject(new PlazaError(ErrorCode.TIMEOUT, 'channel document did not sync'))
      }, this.host.requestTimeoutMs)
      this.syncing = {
        resolve: () => (this.rt.clock.clearTimeout(timer), resolve()),
        reject: (e) => (this.rt.clock.clearTimeout(timer), reject(e)),
        timer,
      }
    })
    this.requestState()
    return done
  }

  /** The connection dropped: requests under way will not be answered (the next sync starts over). */
  interrupted(): void {
    this.answers = this.requests
    this.syncing?.reject(new PlazaError(ErrorCode.CONNECTION_LOST, 'connection lost during the sync'))
    this.syncing = null
  }

  /** Left the channel or logged out: stop waiting; keep the replica and unconfirmed writes. */
  stop(): void {
    this.live = false
    this.answers = this.requests
    this.syncing?.reject(new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'left the channel'))
    this.syncing = null
  }

  /** Writes a verb here and sends it; resolves once the node stored it (at once when not connected). */
  write(op: AttributeOp, attrs: Record<string, string>, keys: string[], notify: boolean): Promise<void> {
    const w: PendingWrite = { op, attrs, keys, notify, ts: this.rt.clock.now(), update: null, epoch: this.epoch, sending: false, madeOn: null, settle: null }
    if (!this.apply(w)) return Promise.resolve()
    if (notify) this.onChange(true)
    if (this.pending.length >= MAX_PENDING_WRITES) this.pending.shift()?.settle?.(null)
    this.pending.push(w)
    this.saveCache()
    return new Promise<void>((resolve, reject) => {
      w.settle = (err) => (err ? reject(err) : resolve())
      if (this.awaitingState || !this.live) {
        // Not in sync: the write stands here and is made again (and sent) once the sync is done.
        w.update = null
        w.settle = null
        resolve()
      } else this.send(w)
    })
  }

  /** A sync message from the node on its generation `epoch`; `from` '' for its answers to our requests. */
  onNodeSync(epoch: number, from: string, notify: boolean, payload: Uint8Array): void {
    let type: number
    let body: Uint8Array
    try {
      const d = decoding.createDecoder(payload)
      type = decoding.readVarUint(d)
      body = decoding.readVarUint8Array(d)
    } catch {
      return
    }
    if (type === sync.messageYjsSyncStep2) {
      if (from === '') {
        // The answer to one of our requests: only the latest one counts.
        this.answers = Math.min(this.answers + 1, this.requests)
        if (this.answers === this.requests) this.takeState(epoch, notify, body, true)
      } else if (epoch !== this.epoch) this.takeState(epoch, notify, body, false) // a new generation, to all
      return
    }
    if (type !== sync.messageYjsUpdate || this.awaitingState) return // updates so far are in the state on its way
    if (epoch !== this.epoch) return this.requestState() // an update on a generation we do not have
    let changed = false
    const mark = () => (changed = true)
    this.doc.on('update', mark)
    try {
      Y.applyUpdate(this.doc, body, REMOTE)
    } catch {
      // A malformed update changes nothing.
    } finally {
      this.doc.off('update', mark)
    }
    if (changed && notify) this.onChange(true)
  }

  /**
   * The node's whole state replaces ours. An answer to our latest request holds (or refused)
   * every write sent before that request; a new generation sent to all holds every write the
   * node accepted before it started. Writes not covered are made again on it and sent.
   */
  private takeState(epoch: number, notify: boolean, state: Uint8Array, answer: boolean): void {
    const before = JSON.stringify(this.attributes())
    const next = this.newDoc()
    try {
      Y.applyUpdate(next, state, REMOTE)
    } catch {
      next.destroy()
      return
    }
    this.doc.destroy()
    this.doc = next
    this.epoch = epoch
    // In flight: its answer tells (OK: it is in this state; STALE_EPOCH: made again then). The
    // rest (not sent, refused STALE_EPOCH, fate unknown) is made again on this state and sent.
    for (const w of [...this.pending]) if (!w.sending) this.remake(w)
    if (JSON.stringify(this.attributes()) !== before) this.onChange(notify)
    this.saveCache()
    if (answer) {
      const s = this.syncing
      this.syncing = null
      s?.resolve()
    }
  }

  /** Makes a write again on the current replica and sends it (or settles it if it changes nothing now). */
  private remake(w: PendingWrite): void {
    try {
      if (!this.apply(w)) {
        this.pending.splice(this.pending.indexOf(w), 1)
        w.settle?.(null)
        return
      }
    } catch (err) {
      this.pending.splice(this.pending.indexOf(w), 1)
      w.settle?.(err instanceof PlazaError ? err : null)
      return
    }
    if (this.live && !this.awaitingState) this.send(w)
    else w.update = null
  }

  private send(w: PendingWrite): void {
    if (!w.update) return
    const encoder = encoding.createEncoder()
    sync.writeUpdate(encoder, w.update)
    const payload = encoding.toUint8Array(encoder)
    const epoch = w.epoch
    w.sending = true
    this.host
      .request((reqId) => ({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId, channel: this.channelId, epoch, kind: SyncKind.DOC, notify: w.notify, payload }))
      .then(
        () => this.confirmed(w, null),
        (err: unknown) => this.confirmed(w, err instanceof PlazaError ? err : new PlazaError(ErrorCode.INTERNAL, String(err))),
      )
  }

  private confirmed(w: PendingWrite, err: PlazaError | null): void {
    w.sending = false
    if (!this.pending.includes(w)) return
    w.update = null
    if (err?.code === ErrorCode.STALE_EPOCH) {
      // Made on a generation, or on changes, the node does not have: made again on the current
      // replica if we took a newer one since, else once the node's state is here.
      if (w.madeOn !== this.doc && !this.awaitingState && this.live) this.remake(w)
      else if (!this.awaitingState && this.live) this.requestState()
      return
    }
    if (err && (err.code === ErrorCode.NOT_CONNECTED || err.code === ErrorCode.CONNECTION_LOST || err.code === ErrorCode.TIMEOUT)) {
      // Not refused (perhaps not even received): it stands here and is made again at the next sync.
      const settle = w.settle
      w.settle = null
      settle?.(null)
      return
    }
    this.pending.splice(this.pending.indexOf(w), 1)
    this.saveCache()
    const settle = w.settle
    w.settle = null
    // Refused: this replica holds something the node never will. Start over from the node's.
    if (err && this.live && !this.awaitingState) this.requestState()
    settle?.(err)
  }

  /** Applies the verb to this replica; false when it changed nothing. Throws on a limit. */
  private apply(w: PendingWrite): boolean {
    let update: Uint8Array | null = null
    const capture = (u: Uint8Array) => (update = u)
    this.doc.on('update', capture)
    try {
      this.doc.transact(() => writeChannelAttributes(this.doc.getMap(CHANNEL_ATTRIBUTES_MAP), w.op, w.attrs, w.keys, this.host.uid, w.ts))
    } finally {
      this.doc.off('update', capture)
    }
    w.update = update
    w.epoch = this.epoch
    w.madeOn = this.doc
    return update !== null
  }

  /** Asks the node for its whole state (a step 1 with nothing in it). */
  private requestState(): void {
    this.requests++
    const encoder = encoding.createEncoder()
    sync.writeSyncStep1(encoder, EMPTY)
    this.host.sendToNode({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 0, channel: this.channelId, epoch: this.epoch, kind: SyncKind.DOC, notify: false, payload: encoding.toUint8Array(encoder) })
  }

  private newDoc(): Y.Doc {
    // A guid given: Yjs would otherwise make a random UUID (31 calls to getRandomValues) that
    // nothing here reads. A deterministic client id under a seeded runtime.
    const doc = new Y.Doc({ gc: true, guid: this.channelId })
    doc.clientID = Math.floor(this.rt.random() * 0xffffffff) >>> 0
    doc.on('update', (_u: Uint8Array, origin: unknown) => {
      if (origin !== CACHE) this.saveCache()
    })
    return doc
  }

  private saveCache(): void {
    this.host.saveCache(this.channelId, () => this.toCache())
  }

  private toCache(): Uint8Array {
    const e = new Encoder(256)
    e.uint8(CACHE_VERSION)
    e.varuint(this.epoch)
    e.bytes(Y.encodeStateAsUpdate(this.doc))
    e.varuint(this.pending.length)
    for (const w of this.pending) {
      e.uint8(w.op)
      e.varuint(Object.keys(w.attrs).length)
      for (const [k, v] of Object.entries(w.attrs)) {
        e.string(k)
        e.string(v)
      }
      e.varuint(w.keys.length)
      for (const k of w.keys) e.string(k)
      e.bool(w.notify)
      e.varuint(w.ts)
    }
    return e.finish()
  }

  private fromCache(bytes: Uint8Array): void {
    try {
      const d = new Decoder(bytes)
      if (d.uint8() !== CACHE_VERSION) return
      const epoch = d.varuint()
      const state = d.bytes(1 << 24)
      const pending: PendingWrite[] = []
      for (let n = d.count(MAX_PENDING_WRITES); n > 0; n--) {
        const op = d.uint8() as AttributeOp
        const attrs: Record<string, string> = {}
        for (let k = d.count(MAX_ATTRIBUTE_KEYS); k > 0; k--) attrs[d.string(MAX_ATTRIBUTE_KEY_BYTES)] = d.string(MAX_ATTRIBUTE_VALUE_BYTES)
        const keys: string[] = []
        for (let k = d.count(MAX_ATTRIBUTE_KEYS); k > 0; k--) keys.push(d.string(MAX_ATTRIBUTE_KEY_BYTES))
        pending.push({ op, attrs, keys, notify: d.bool(), ts: d.varuint(), update: null, epoch, sending: false, madeOn: null, settle: null })
      }
      Y.applyUpdate(this.doc, state, CACHE)
      this.epoch = epoch
      this.pending = pending
    } catch {
      // An unreadable cache is no cache.
    }
  }
}

/** A state vector of nothing: asks for everything. */
const EMPTY = new Y.Doc()
const CACHE = 'cache'
