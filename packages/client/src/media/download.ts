import {
  ErrorCode,
  MediaErrorCode,
  MediaFrameType,
  MediaPart,
  PlazaError,
  encodeMediaFrame,
  type Clock,
  type MediaDataFrame,
  type MediaErrorFrame,
  type MediaHaveFrame,
  type TimerHandle,
} from '@plaza/protocol'
import { InOrderHash, concatBytes, equalBytes, hashPiece, mediaIdOf, type Sha256Factory } from './hash.js'
import { PieceSet, type HeldMedia } from './held.js'
import { sendControl, type MediaTransport } from './transport.js'

/** Bytes asked of one holder and not yet received: over a direct link, and through the relay. */
const DIRECT_WINDOW_BYTES = 4 * 1024 * 1024
const RELAY_WINDOW_BYTES = 512 * 1024
/** A request that has received nothing this long is taken for lost and asked again. */
const REQUEST_IDLE_MS = 8000
/**
 * Holders that answered nothing yet, or lack pieces, are asked what they have this often: over a
 * direct link often (fellow receivers in a channel gain pieces fast, and each one they can give is
 * one the origin need not send; 8 members, 64 MiB: the origin sent 2.6 copies instead of 3.1–4.1
 * at 2 s), through the relay seldom (each question costs the node two frames).
 */
const REQUERY_DIRECT_MS = 500
const REQUERY_MS = 2000
/** With no holder at all for this long (none answered, all gone), the download gives up for now. */
const NO_SOURCE_MS = 12_000
const TICK_MS = 250
/** Consecutive pieces asked for in one request over a direct link (each request is a blocking send into WebRTC). */
const PIECES_PER_REQUEST = 4
/** Bad pieces from one holder before it is dropped. */
const MAX_STRIKES = 2
/**
 * Pieces stored ahead of the whole file's hash (writes to a file may finish out of order; before,
 * one such stopped the hash on the way in and the rest of the file was read back at the end)
 * kept until the hash reaches them: at most this many.
 */
const HASH_AHEAD_PIECES = 16

export interface DownloadProgress {
  /** Verified bytes. */
  loaded: number
  total: number
}

export interface DownloadHooks {
  transport: MediaTransport
  clock: Clock
  random(): number
  sha256: Sha256Factory
  /** Other receivers may serve pieces (a channel message). */
  swarm: boolean
  /** Holders worth asking besides the first ones (a channel's members with open links); called on each re-query. */
  moreSources(): string[]
  /** A piece was verified and stored (save progress). */
  pieceStored(): void
  /** The node's media store as a last resort: fetches the missing pieces (and the manifest) into `held`. */
  fromNode: ((held: HeldMedia, missing: () => number[], verify: (i: number, bytes: Uint8Array) => Promise<boolean>) => Promise<boolean>) | null
}

interface Source {
  uid: string
  have: PieceSet | null
  /** Answered HAVE (it holds the manifest and what `have` says). */
  known: boolean
  lastQuery: number
  inflightBytes: number
  strikes: number
  gone: boolean
  /** The last query could not reach it (offline). */
  away: boolean
}

interface Req {
  reqId: number
  source: Source
  part: MediaPart
  /** The first piece (DATA), -1 for the manifest. */
  piece: number
  /** Consecutive pieces asked for in this request (1 for the manifest). */
  count: number
  offset: number
  length: number
  received: number
  /**
   * The bytes of the piece being received (the manifest: all of it), as the blocks came: views of
   * the link's messages, never copied (copying every block cost a receiver ~12% of its CPU).
   */
  parts: Uint8Array[]
  partBytes: number
  /** Pieces of it handed on to be checked, and their bytes. */
  checked: number
  checkedBytes: number
  lastActivity: number
}

/**
 * One download: asks holders what they have, fetches the manifest (checked against the media
 * id), then pieces — each from a holder that has it, within a window per holder — checks each
 * against the manifest, stores it, and at the end checks the whole file's SHA-256.
 */
export class Download {
  private readonly sources = new Map<string, Source>()
  private readonly reqs = new Map<number, Req>()
  private readonly inflightPieces = new Set<number>()
  /** Pieces received and being checked or stored (not to be asked again meanwhile). */
  private readonly checkingPieces = new Set<number>()
  private nextReqId = 1
  private timer: TimerHandle | null = null
  private lastSourceSeen: number
  private done = false
  private settle!: { resolve(): void; reject(e: PlazaError): void }
  readonly finished: Promise<void>
  private verifying = 0
  private cursor: number
  private usingNode = false
  /** Checking what an earlier download left (no requests meanwhile). */
  private recovering = false
  /** The whole file's SHA-256, fed the pieces in order as they are stored. */
  private readonly whole: InOrderHash
  /** The node's store was asked since the last progress (asked again after new progress stalls). */
  private nodeTried = false
  /** Pieces (or manifests) that did not match their hashes. */
  private badPieces = 0

  constructor(
    readonly held: HeldMedia,
    firstSources: string[],
    private readonly hooks: DownloadHooks,
    private readonly onProgress: (p: DownloadProgress) => void,
  ) {
    this.finished = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }))
    this.whole = new InOrderHash(hooks.sha256(), HASH_AHEAD_PIECES)
    this.lastSourceSeen = hooks.clock.now()
    // Downloaders of one file in a channel start at different pieces, so they have something to
    // give each other; alone, in order (the whole file's hash then goes along with the pieces).
    this.cursor = hooks.swarm ? Math.floor(hooks.random() * held.pieces) : 0
    // The sender of the message is taken to hold the whole file (it did when it sent it): asked
    // at once, without a query round trip; if it no longer does, it says so and is queried.
    for (const uid of firstSources) {
      this.addSource(uid)
      const s = this.sources.get(uid)!
      s.known = true
      s.have = PieceSet.full(held.pieces)
    }
  }

  start(): void {
    if (this.held.complete && this.held.manifest) {
      void this.finish()
      return
    }
    this.timer = this.hooks.clock.setInterval(() => this.tick(), TICK_MS)
    this.query(true)
    if (this.held.manifest) void this.recover()
    else this.schedule()
  }

  /** Pieces a stopped download left in its side file count if they match the manifest. */
  private async recover(): Promise<void> {
    const store = this.held.store
    if (store.resumed) {
      store.resumed = false
      this.recovering = true
      try {
        for (let i = 0; i < this.held.pieces && !this.done; i++) {
          if (this.held.have.has(i)) continue
          const bytes = await store.read(i * this.held.info.pieceSize, this.held.pieceLength(i))
          if (equalBytes(await hashPiece(this.hooks.sha256, [bytes]), this.held.pieceHash(i))) {
            this.held.have.add(i)
            this.whole.add(i, [bytes])
          }
        }
      } catch {
        // Unreadable: fetched again.
      } finally {
        this.recovering = false
      }
      if (this.held.have.count > 0) this.onProgress({ loaded: this.loaded, total: this.held.info.size })
    }
    this.schedule()
  }

  cancel(err: PlazaError): void {
    if (this.done) return
    for (const s of this.sources.values()) {
      if (this.hasInflight(s)) void sendControl(this.hooks.transport, s.uid, { type: MediaFrameType.CANCEL, mediaId: this.held.info.mediaId, reqId: 0 })
    }
    this.fail(err)
  }

  get loaded(): number {
    let n = 0
    for (let i = 0; i < this.held.pieces; i++) if (this.held.have.has(i)) n += this.held.pieceLength(i)
    return n
  }

  onHave(from: string, f: MediaHaveFrame): void {
    const s = this.sources.get(from)
    if (!s || this.done) return
    const before = s.have?.count ?? -1
    s.known = true
    s.have = f.complete ? PieceSet.full(this.held.pieces) : new PieceSet(this.held.pieces, f.pieces)
    if (s.have.count > before) this.lastSourceSeen = this.hooks.clock.now()
    this.schedule()
  }

  onError(from: string, f: MediaErrorFrame): void {
    const s = this.sources.get(from)
    if (!s || this.done) return
    const r = f.reqId ? this.reqs.get(f.reqId) : undefined
    if (r && r.source === s) this.dropReq(r)
    if (f.code === MediaErrorCode.BAD_REQUEST) s.gone = true
    else if (f.code === MediaErrorCode.NOT_FOUND) {
      // It does not hold it (yet, or any more): asked again at the next round. Pieces it said it
      // had and then could not give (its file changed under it, say) count against it: else it
      // would be asked for them, and say it has them, forever.
      if (r && r.source === s && r.part === MediaPart.DATA && ++s.strikes >= MAX_STRIKES) s.gone = true
      s.have = null
      s.known = false
    }
    this.schedule()
  }

  onData(from: string, f: MediaDataFrame): void {
    const r = this.reqs.get(f.reqId)
    if (!r || r.source.uid !== from || this.done) return
    if (f.offset !== r.offset + r.received || r.received + f.bytes.length > r.length) {
      // A block lost (a link closed under it): ask again.
      this.dropReq(r)
      void sendControl(this.hooks.transport, from, { type: MediaFrameType.CANCEL, mediaId: this.held.info.mediaId, reqId: r.reqId })
      return this.schedule()
    }
    r.received += f.bytes.length
    r.lastActivity = this.hooks.clock.now()
    this.lastSourceSeen = r.lastActivity
    this.nodeTried = false
    if (r.part === MediaPart.MANIFEST) {
      r.parts.push(f.bytes)
      if (r.received < r.length) return
      this.dropReq(r)
      this.onManifest(r)
      return this.schedule()
    }
    // Each piece is checked as soon as it is in, not when the whole request is. A block that
    // runs past the piece's end is split (views) between it and the next.
    let handed = false
    for (let block = f.bytes; block.length > 0 && r.checked < r.count; ) {
      const i = r.piece + r.checked
      const len = this.held.pieceLength(i)
      const take = Math.min(block.length, len - r.partBytes)
      r.parts.push(take === block.length ? block : block.subarray(0, take))
      r.partBytes += take
      block = block.subarray(take)
      if (r.partBytes < len) continue
      const parts = r.parts
      r.parts = []
      r.partBytes = 0
      r.checked++
      r.checkedBytes += len
      r.source.inflightBytes -= len
      this.inflightPieces.delete(i)
      this.checkingPieces.add(i)
      void this.onPiece(i, parts, r.source)
      handed = true
    }
    if (r.checked === r.count) this.dropReq(r)
    if (handed) this.schedule()
  }

  // ---- internals -------------------------------------------------------------------------

  private addSource(uid: string): void {
    if (this.sources.has(uid)) return
    this.sources.set(uid, { uid, have: null, known: false, lastQuery: -Infinity, inflightBytes: 0, strikes: 0, gone: false, away: false })
  }

  private hasInflight(s: Source): boolean {
    return s.inflightBytes > 0
  }

  private query(all: boolean): void {
    const now = this.hooks.clock.now()
    for (const uid of this.hooks.moreSources()) this.addSource(uid)
    for (const s of this.sources.values()) {
      const every = this.hooks.transport.linkOpen(s.uid) ? REQUERY_DIRECT_MS : REQUERY_MS
      if (s.gone || (s.known && (s.have?.complete ?? false)) || (!all && now - s.lastQuery < every)) continue
      s.lastQuery = now
      // Unreachable now (offline, or no link and no relay): asked again at the next round.
      void sendControl(this.hooks.transport, s.uid, { type: MediaFrameType.QUERY, mediaId: this.held.info.mediaId, reqId: 0 }).then((ok) => {
        s.away = !ok
      })
    }
  }

  private tick(): void {
    if (this.done) return
    const now = this.hooks.clock.now()
    for (const r of [...this.reqs.values()]) if (now - r.lastActivity > REQUEST_IDLE_MS && this.reqs.has(r.reqId)) this.stall(r.source)
    this.query(false)
    this.schedule()
    if (this.reqs.size > 0 || this.verifying > 0) return
    // Every holder is known to be away (offline: the relay said so): the node's store at once.
    if ([...this.sources.values()].every((s) => s.gone || s.away)) void this.tryNode()
    // Nothing asked, nothing arriving, nobody new: no holder has what is missing (or none is reachable).
    if (now - this.lastSourceSeen > NO_SOURCE_MS) void this.noSource()
  }

  /**
   * What was asked of `s` is not coming (its link closed, it went away, it reloaded): forget it,
   * tell it so, and ask it again what it has at the next round (over whatever path works then).
   */
  private stall(s: Source): void {
    if (!this.hasInflight(s) && !s.known) return
    for (const r of [...this.reqs.values()]) if (r.source === s) this.dropReq(r)
    s.known = false
    s.have = null
    void sendControl(this.hooks.transport, s.uid, { type: MediaFrameType.CANCEL, mediaId: this.held.info.mediaId, reqId: 0 })
  }

  /** A direct link to `uid` opened or closed: what went over a closed one is lost; an open one is worth asking over at once. */
  onLinkChange(uid: string, open: boolean): void {
    const s = this.sources.get(uid)
    if (!s || s.gone || this.done) return
    if (!open) this.stall(s)
    s.lastQuery = -Infinity
    this.query(false)
  }

  /** The node's media store, once per stall: true when it had everything missing. */
  private async tryNode(): Promise<boolean> {
    if (!this.hooks.fromNode || this.usingNode || this.nodeTried || this.done) return false
    this.usingNode = true
    this.nodeTried = true
    try {
      const ok = await this.hooks.fromNode(this.held, () => this.missing(), (i, b) => this.verifyAndStore(i, [b]))
      if (ok && this.held.complete && !this.done) void this.finish()
      return ok
    } catch (err) {
      if (err instanceof PlazaError && err.code === ErrorCode.MEDIA_INTEGRITY) this.fail(err)
      return false
    } finally {
      this.usingNode = false
    }
  }

  private async noSource(): Promise<void> {
    if (this.usingNode || this.done) return
    if (await this.tryNode()) return
    if (this.done || this.usingNode) return
    if (this.badPieces > 0) {
      return this.fail(new PlazaError(ErrorCode.MEDIA_INTEGRITY, `holders of ${this.held.info.mediaId} sent ${this.badPieces} pieces that do not match its hashes (discarded); no holder has good ones now`))
    }
    this.fail(new PlazaError(ErrorCode.MEDIA_UNAVAILABLE, `no holder of ${this.held.info.mediaId} is reachable now; what arrived is kept: download again to resume`))
  }

  private missing(): number[] {
    const out: number[] = []
    for (let i = 0; i < this.held.pieces; i++) if (!this.held.have.has(i)) out.push(i)
    return out
  }

  private window(uid: string): number {
    return this.hooks.transport.linkOpen(uid) ? DIRECT_WINDOW_BYTES : RELAY_WINDOW_BYTES
  }

  /** Fills every holder's window with pieces it has that nobody is fetching. */
  private schedule(): void {
    if (this.done || this.recovering) return
    const usable = [...this.sources.values()].filter((s) => !s.gone && s.known)
    if (!this.held.manifest) {
      const holders = usable.filter((s) => (s.have?.count ?? 0) > 0)
      if (this.reqs.size === 0 && holders.length) {
        const s = holders[Math.floor(this.hooks.random() * holders.length)]
        this.request(s, MediaPart.MANIFEST, -1, 1, 0, this.held.pieces * 32)
      }
      return
    }
    // Other receivers first: the origin's upload is what a swarm saves.
    usable.sort((a, b) => Number(a.have?.complete ?? false) - Number(b.have?.complete ?? false))
    const total = this.held.pieces
    for (const s of usable) {
      const win = this.window(s.uid)
      const direct = this.hooks.transport.linkOpen(s.uid)
      // Over a direct link a request waits until a whole request's worth of the window is free
      // (not one per piece as each comes in): each request is a blocking send into WebRTC, which
      // waits for the thread busy taking in the data — a quarter as many of them.
      if (direct && s.inflightBytes > 0 && win - s.inflightBytes < PIECES_PER_REQUEST * this.held.info.pieceSize) continue
      let scanned = 0
      while (s.inflightBytes < win && scanned < total) {
        const i = this.pickPiece(s, () => scanned++)
        if (i < 0) break
        // And the pieces after it that it has and nobody fetches, while the window allows.
        let count = 1
        let length = this.held.pieceLength(i)
        const most = direct ? PIECES_PER_REQUEST : 1
        while (count < most && i + count < total && this.free(s, i + count) && s.inflightBytes + length + this.held.pieceLength(i + count) <= win) {
          length += this.held.pieceLength(i + count)
          count++
        }
        this.request(s, MediaPart.DATA, i, count, i * this.held.info.pieceSize, length)
      }
    }
    if (this.held.complete && this.reqs.size === 0 && this.verifying === 0) void this.finish()
  }

  /** Piece `i` is missing, nobody is fetching or checking it, and `s` has it. */
  private free(s: Source, i: number): boolean {
    return !this.held.have.has(i) && !this.inflightPieces.has(i) && !this.checkingPieces.has(i) && (s.have?.has(i) ?? false)
  }

  private pickPiece(s: Source, count: () => void): number {
    const total = this.held.pieces
    for (let k = 0; k < total; k++) {
      const i = (this.cursor + k) % total
      count()
      if (this.free(s, i)) return i
    }
    return -1
  }

  private request(s: Source, part: MediaPart, piece: number, count: number, offset: number, length: number): void {
    const reqId = this.nextReqId++
    const r: Req = { reqId, source: s, part, piece, count, offset, length, received: 0, parts: [], partBytes: 0, checked: 0, checkedBytes: 0, lastActivity: this.hooks.clock.now() }
    this.reqs.set(reqId, r)
    s.inflightBytes += length
    if (piece >= 0) for (let k = 0; k < count; k++) this.inflightPieces.add(piece + k)
    const frame = { type: MediaFrameType.REQUEST as const, mediaId: this.held.info.mediaId, reqId, part, offset, length }
    const t = this.hooks.transport
    const bytes = encodeMediaFrame(frame)
    if (t.linkOpen(s.uid) && t.linkSend(s.uid, bytes)) return
    void sendControl(t, s.uid, frame).then((ok) => {
      if (ok || !this.reqs.has(reqId)) return
      // Not reachable now: what it has is asked again at the next round.
      s.known = false
      s.have = null
      this.dropReq(r)
      this.schedule()
    })
  }

  /** Forgets a request; its pieces not yet handed on are free to be asked again. */
  private dropReq(r: Req): void {
    if (!this.reqs.delete(r.reqId)) return
    r.source.inflightBytes -= r.length - r.checkedBytes
    if (r.piece >= 0) for (let k = r.checked; k < r.count; k++) this.inflightPieces.delete(r.piece + k)
  }

  private onManifest(r: Req): void {
    const info = this.held.info
    const manifest = concatBytes(r.parts, r.length)
    if (mediaIdOf(this.hooks.sha256, info.size, info.pieceSize, manifest) !== info.mediaId) {
      this.badPieces++
      r.source.strikes++
      r.source.gone = true
      return
    }
    this.held.manifest = manifest
    this.hooks.pieceStored()
    if (this.held.store.resumed) void this.recover()
  }

  private async onPiece(i: number, parts: Uint8Array[], source: Source): Promise<void> {
    const ok = await this.verifyAndStore(i, parts).finally(() => this.checkingPieces.delete(i))
    if (!ok) {
      this.badPieces++
      source.strikes++
      if (source.strikes >= MAX_STRIKES) source.gone = true
    }
    this.schedule()
  }

  /** Checks a piece against the manifest and keeps it; false if it does not match. */
  private async verifyAndStore(i: number, parts: Uint8Array[]): Promise<boolean> {
    if (this.done || this.held.have.has(i)) return true
    this.verifying++
    try {
      if (!equalBytes(await hashPiece(this.hooks.sha256, parts), this.held.pieceHash(i))) return false
      if (this.done || this.held.have.has(i)) return true
      await this.held.store.write(i, i * this.held.info.pieceSize, parts)
    } finally {
      this.verifying--
    }
    if (this.done) return true
    this.held.have.add(i)
    this.whole.add(i, parts)
    if (i === this.cursor) this.cursor = (i + 1) % this.held.pieces
    this.hooks.pieceStored()
    this.onProgress({ loaded: this.loaded, total: this.held.info.size })
    return true
  }

  /** Every piece is in: the whole file's SHA-256 decides. */
  private async finish(): Promise<void> {
    if (this.done) return
    this.done = true
    this.hooks.clock.clearInterval(this.timer)
    try {
      await this.held.store.flush()
      // What was not hashed on the way in (pieces that came too far out of order, or in an earlier run) is read back.
      const pieceSize = this.held.info.pieceSize
      const digest = await this.whole.digest(this.held.pieces, (i) => this.held.store.read(i * pieceSize, this.held.pieceLength(i)))
      await this.held.store.close()
      if (!equalBytes(digest, this.held.info.sha256)) throw new PlazaError(ErrorCode.MEDIA_INTEGRITY, 'the file does not match its SHA-256')
      await this.held.store.commit?.()
      this.settle.resolve()
    } catch (err) {
      this.settle.reject(err instanceof PlazaError ? err : new PlazaError(ErrorCode.INTERNAL, String(err)))
    }
  }

  private fail(err: PlazaError): void {
    if (this.done) return
    this.done = true
    this.hooks.clock.clearInterval(this.timer)
    for (const r of [...this.reqs.values()]) this.dropReq(r)
    this.whole.clear()
    this.settle.reject(err)
  }
}
