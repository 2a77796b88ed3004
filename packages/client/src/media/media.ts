import {
  Decoder,
  Encoder,
  ErrorCode,
  MAX_PIECE_BYTES,
  MIN_PIECE_BYTES,
  MAX_INLINE_MANIFEST_BYTES,
  MediaFrameType,
  MediaType,
  MessageKind,
  PeerFrameType,
  PlazaError,
  decodeMediaFrame,
  decodeMediaInfo,
  decodePeerFrame,
  encodeMediaInfo,
  isMediaFrameType,
  isValidMediaId,
  type Clock,
  type MediaInfo,
} from '@plaza/protocol'
import { DebouncedWriter, type PlazaStorage } from '../storage/storage.js'
import { Download, type DownloadProgress } from './download.js'
import { mediaIdOf, hashPiece, type Sha256Factory } from './hash.js'
import { HeldMedia, MediaCache, PieceSet } from './held.js'
import { checkCreateOptions, toMediaMessage, type CreateMediaOptions, type MediaMessage } from './media-message.js'
import { downloadFromNode, uploadToNode, type NodeEndpoint } from './node-store.js'
import { BlobPieces, BytesPieces, MemoryPieces, StoragePieces, type MediaFiles, type PieceStore } from './pieces.js'
import { MediaServer } from './serve.js'
import type { MediaTransport } from './transport.js'

export type MediaData = Uint8Array | Blob | string | AsyncIterable<Uint8Array>

export interface DownloadMediaOptions {
  /** Verified bytes so far; monotonic, ends at total. */
  onProgress?: (p: DownloadProgress) => void
  /** Aborting rejects the download with CANCELLED (what arrived is kept: download again to resume). */
  signal?: AbortSignal
}

export interface MediaOptions {
  /** Bytes of copies held (downloads, and files saved for serving after a reload); least recently used go first. */
  cacheBytes: number
  /** Largest file this client makes or fetches. */
  maxFileBytes: number
}

export interface MediaHost {
  transport: MediaTransport
  storage: PlazaStorage
  clock: Clock
  random(): number
  sha256: Sha256Factory
  files: MediaFiles | null
  /** The node's media store, when logged in. */
  node(): NodeEndpoint | null
  /** Members of `channel` this client has open links to (other holders worth asking). */
  channelSources(channel: string): string[]
  self(): string
}

/** Where a media id came from: who sent it, in which channel (so whom to ask for it). */
interface Origin {
  info: MediaInfo
  from: string
  channel: string
}

/** A download under way and whom to tell of its progress. */
interface Running {
  d: Download
  progress: Set<(p: DownloadProgress) => void>
  /** Calls waiting on it: the transfer is cancelled when the last of them is. */
  callers: number
}

const MAX_KNOWN = 4096
/** Uploads refused TOO_OFTEN are tried again this many times (0.25 s, doubling: ~16 s in all). */
const UPLOAD_RETRIES = 6
const INDEX_VERSION = 1
enum StoreKind {
  STORAGE = 0,
  FILE = 1,
}

/** 256 KiB pieces; larger for files past 2 GiB, so that there are at most 8192 (up to 32 GiB; 4 MiB pieces beyond). */
export function choosePieceSize(size: number): number {
  let p = 256 * 1024
  while (size / p > 8192 && p < MAX_PIECE_BYTES) p *= 2
  return Math.max(MIN_PIECE_BYTES, p)
}

function isBlob(d: unknown): d is Blob {
  return typeof d === 'object' && d !== null && typeof (d as Blob).slice === 'function' && typeof (d as Blob).size === 'number'
}

/**
 * Media for one client: the files it holds and serves, its downloads, what it has been sent,
 * and the node's media store for receivers that are offline.
 */
export class MediaManager {
  private readonly cache: MediaCache
  private readonly server: MediaServer
  private readonly downloads = new Map<string, Running>()
  private readonly known = new Map<string, Origin>()
  private readonly writer: DebouncedWriter
  private appKey = ''

  constructor(
    private readonly host: MediaHost,
    private readonly opts: MediaOptions,
  ) {
    this.cache = new MediaCache(opts.cacheBytes)
    this.server = new MediaServer(host.transport, (id) => this.cache.get(id), host.clock)
    this.writer = new DebouncedWriter(host.storage, host.clock, 500)
  }

  private get durable(): boolean {
    return this.host.storage.durable === true
  }

  async create(data: MediaData, o: CreateMediaOptions): Promise<MediaMessage> {
    checkCreateOptions(o)
    const { size, store, file, temp } = await this.open(data)
    const dropTemp = () => (temp && file ? this.host.files!.remove(file) : Promise.resolve())
    if (size > this.opts.maxFileBytes) {
      await dropTemp()
      throw new PlazaError(ErrorCode.MEDIA_TOO_LARGE, `${size} bytes is over this client's limit of ${this.opts.maxFileBytes}`)
    }
    const pieceSize = choosePieceSize(size)
    const pieces = Math.ceil(size / pieceSize)
    const manifest = new Uint8Array(pieces * 32)
    const whole = this.host.sha256()
    for (let i = 0; i < pieces; i++) {
      const bytes = await store.read(i * pieceSize, Math.min(pieceSize, size - i * pieceSize))
      manifest.set(await hashPiece(this.host.sha256, [bytes]), i * 32)
      whole.update(bytes)
    }
    const info: MediaInfo = {
      mediaId: mediaIdOf(this.host.sha256, size, pieceSize, manifest),
      size,
      pieceSize,
      sha256: whole.digest(),
      mediaType: o.messageType === 'IMAGE' ? MediaType.IMAGE : MediaType.FILE,
      fileName: o.fileName,
      mimeType: o.mimeType ?? '',
      width: o.width ?? 0,
      height: o.height ?? 0,
      thumbnail: o.thumbnail ?? new Uint8Array(0),
      manifest: manifest.length <= MAX_INLINE_MANIFEST_BYTES ? manifest : new Uint8Array(0),
    }
    const existing = this.cache.get(info.mediaId)
    if (!existing || !existing.complete) {
      const held = new HeldMedia(info, manifest, await this.keep(info, store, file), PieceSet.full(pieces), this.host.clock.now())
      if (existing) await this.cache.remove(info.mediaId)
      this.cache.add(held)
      if (temp && file) this.tempFiles.set(info.mediaId, file)
      this.saveIndex()
    } else {
      await store.close()
      await dropTemp()
    }
    return toMediaMessage(info, o.description ?? '')
  }

  /** A media message arrived: remember whom to ask for its bytes. */
  noteReceived(from: string, channel: string, infoBytes: Uint8Array): MediaInfo | null {
    let info: MediaInfo
    try {
      info = decodeMediaInfo(infoBytes)
    } catch {
      return null
    }
    this.known.delete(info.mediaId)
    this.known.set(info.mediaId, { info, from, channel })
    if (this.known.size > MAX_KNOWN) this.known.delete(this.known.keys().next().value!)
    return info
  }

  /** Fetches a media id's bytes (or returns them at once if held); a Blob. */
  async download(idOrMessage: string | MediaMessage, o: DownloadMediaOptions = {}): Promise<Blob> {
    const held = await this.fetch(idOrMessage, o, null)
    if (held.store instanceof MemoryPieces) return new Blob(held.store.parts(held.pieces) as BlobPart[], { type: held.info.mimeType })
    const parts: Uint8Array[] = []
    const step = 4 * 1024 * 1024
    // The Blob copies what it is given.
    for (let at = 0; at < held.info.size; at += step) parts.push(await held.store.read(at, Math.min(step, held.info.size - at)))
    return new Blob(parts as BlobPart[], { type: held.info.mimeType })
  }

  /** Node: fetches into a file at `path` (memory stays bounded whatever the size). */
  async downloadToFile(idOrMessage: string | MediaMessage, path: string, o: DownloadMediaOptions = {}): Promise<{ path: string; size: number }> {
    const files = this.host.files
    if (!files) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'downloading to a file needs the Node entry of @plaza/client')
    if (typeof path !== 'string' || path === '') throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'path: a file path')
    const mediaId = mediaIdOfArg(idOrMessage)
    // One download into a path at a time: two would share its side file, and one would rename the other's bytes into place.
    const key = files.key?.(path) ?? path
    const busy = this.toFile.get(key)
    if (busy) {
      if (busy.mediaId !== mediaId) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `a download of another media id into ${path} is under way`)
      // The same file into the same path: it is there once that download is done. If that one
      // failed, this call tries (the first of the calls waiting to get here; the others wait on it).
      const held = await busy.done.catch(() => null)
      if (o.signal?.aborted) throw new PlazaError(ErrorCode.CANCELLED, 'cancelled')
      if (held) return { path, size: held.info.size }
      return this.downloadToFile(mediaId, path, o)
    }
    const done = this.fetch(mediaId, o, path)
    const mine = { mediaId, done }
    this.toFile.set(key, mine)
    try {
      const held = await done
      return { path, size: held.info.size }
    } finally {
      if (this.toFile.get(key) === mine) this.toFile.delete(key)
    }
  }

  /** Downloads into files under way, by the file's path. */
  private readonly toFile = new Map<string, { mediaId: string; done: Promise<HeldMedia> }>()

  /** Keeps a held media id from eviction until released. */
  pin(mediaId: string): boolean {
    const h = this.cache.get(mediaId)
    if (h) h.pinned = true
    if (h) this.saveIndex()
    return h !== undefined
  }

  /** Stops serving a media id and frees its copies; its downloads in progress are cancelled. */
  async release(mediaId: string): Promise<void> {
    // A download of it being set up is cancelled too, once it exists.
    await this.settingUp.get(mediaId)
    this.downloads.get(mediaId)?.d.cancel(new PlazaError(ErrorCode.CANCELLED, 'released'))
    this.server.forget(mediaId)
    await this.cache.remove(mediaId)
    await this.dropTemp(mediaId)
    this.saveIndex()
  }

  /** Copies of the app's streams (Node), deleted when their media is released or the client ends. */
  private readonly tempFiles = new Map<string, string>()

  private async dropTemp(mediaId: string): Promise<void> {
    const path = this.tempFiles.get(mediaId)
    if (!path) return
    this.tempFiles.delete(mediaId)
    await this.host.files?.remove(path).catch(() => undefined)
  }

  /** A media peer frame from `from`; false if `bytes` is not one. */
  onFrame(from: string, bytes: Uint8Array): boolean {
    if (bytes.length === 0 || !isMediaFrameType(bytes[0])) return false
    let f
    try {
      f = decodeMediaFrame(bytes)
    } catch {
      return true
    }
    switch (f.type) {
      case MediaFrameType.REQUEST:
        return this.server.onRequest(from, f), true
      case MediaFrameType.QUERY:
        return this.server.onQuery(from, f), true
      case MediaFrameType.CANCEL:
        return this.server.onCancel(from, f), true
      case MediaFrameType.DATA:
        return this.downloads.get(f.mediaId)?.d.onData(from, f), true
      case MediaFrameType.HAVE:
        return this.downloads.get(f.mediaId)?.d.onHave(from, f), true
      case MediaFrameType.ERROR:
        return this.downloads.get(f.mediaId)?.d.onError(from, f), true
    }
  }

  /** A direct link opened or closed: downloads from that user adjust at once. */
  onLinkChange(uid: string, open: boolean): void {
    for (const { d } of this.downloads.values()) d.onLinkChange(uid, open)
  }

  /** The node wants the file of this media message before it stores the message for an offline receiver. */
  async uploadFor(payload: Uint8Array): Promise<void> {
    const f = decodePeerFrame(payload)
    if (f.type !== PeerFrameType.MESSAGE || f.kind !== MessageKind.MEDIA) throw new PlazaError(ErrorCode.INVALID_MESSAGE, 'not a media message')
    const info = decodeMediaInfo(f.bytes)
    const held = this.cache.get(info.mediaId)
    if (!held || !held.complete || !held.manifest) throw new PlazaError(ErrorCode.MEDIA_NOT_FOUND, 'this client no longer holds the file')
    const id = info.mediaId
    let p = this.uploading.get(id)
    if (!p) {
      // One upload at a time from this client (the node allows a user few at once), each file once.
      p = this.uploadChain.then(() => this.uploadWithRetry(held))
      this.uploadChain = p.catch(() => undefined)
      this.uploading.set(id, p)
      void p.finally(() => this.uploading.delete(id)).catch(() => undefined)
    }
    await p
  }

  private uploadChain: Promise<void> = Promise.resolve()
  private readonly uploading = new Map<string, Promise<void>>()

  /** TOO_OFTEN (the node's upload slots are taken) is tried again a few times, waiting longer each time. */
  private async uploadWithRetry(held: HeldMedia): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const ep = this.host.node()
      if (!ep) throw new PlazaError(ErrorCode.NOT_CONNECTED, 'not connected')
      try {
        return await uploadToNode(ep, held)
      } catch (err) {
        if (!(err instanceof PlazaError) || err.code !== ErrorCode.TOO_OFTEN || attempt >= UPLOAD_RETRIES) throw err
      }
      await new Promise<void>((resolve) => this.host.clock.setTimeout(resolve, 250 * 2 ** attempt))
    }
  }

  /** After login as `uid`: takes back what a previous run held (durable storage). */
  async load(appId: string, uid: string): Promise<void> {
    const key = `media/${appId}/${uid}/index`
    if (key === this.appKey) return
    if (this.appKey) this.forgetAll()
    this.appKey = key
    if (!this.durable) return
    const bytes = await this.host.storage.get(key).catch(() => undefined)
    if (!bytes || this.appKey !== key) return
    try {
      await this.restore(bytes)
    } catch {
      // An index we cannot read: start from nothing.
    }
  }

  close(): void {
    for (const { d } of this.downloads.values()) d.cancel(new PlazaError(ErrorCode.DESTROYED, 'client destroyed'))
    this.server.close()
    this.closeFiles()
    for (const id of [...this.tempFiles.keys()]) void this.dropTemp(id)
  }

  /** Lets go of open files (logout; they are opened again when needed). */
  closeFiles(): void {
    for (const h of this.cache.values()) void h.store.close()
  }

  /** Another user logs in on this client: the previous one's media is not theirs to serve (it stays in storage). */
  private forgetAll(): void {
    for (const { d } of this.downloads.values()) d.cancel(new PlazaError(ErrorCode.CANCELLED, 'another user logged in'))
    this.server.close()
    this.closeFiles()
    this.cache.clear()
    this.known.clear()
    this.origins.clear()
  }

  flush(): Promise<void> {
    return this.writer.flush()
  }

  // ---- internals -------------------------------------------------------------------------

  /** `temp`: a copy of a stream of the app's, this client's to delete. */
  private async open(data: MediaData): Promise<{ size: number; store: PieceStore; file: string | null; temp: boolean }> {
    if (data instanceof Uint8Array) return { size: data.length, store: new BytesPieces(data, false), file: null, temp: false }
    if (isBlob(data)) return { size: data.size, store: new BlobPieces(data), file: null, temp: false }
    const files = this.host.files
    if (typeof data === 'string') {
      if (!files) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'a file path needs the Node entry of @plaza/client')
      return { ...(await openOrThrow(() => files.openRead(data))), file: data, temp: false }
    }
    if (data && typeof (data as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
      if (!files) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'a stream needs the Node entry of @plaza/client')
      const path = await files.spool(data as AsyncIterable<Uint8Array>)
      return { ...(await openOrThrow(() => files.openRead(path))), file: path, temp: true }
    }
    throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'data: a Uint8Array, a Blob or File, or in Node a file path or a stream')
  }

  /** Where a created file is served from: copied into durable storage when there is one (it outlives a reload), else as given. */
  private async keep(info: MediaInfo, store: PieceStore, file: string | null): Promise<PieceStore> {
    if (!this.durable || !this.appKey || file !== null || store.durable) return store
    if (!(await this.cache.makeRoom(info.size, (id) => this.server.busy(id) || this.downloads.has(id)))) return store
    const copy = new StoragePieces(this.host.storage, this.piecePrefix(info.mediaId), info.pieceSize, Math.ceil(info.size / info.pieceSize))
    for (let i = 0, at = 0; at < info.size; i++, at += info.pieceSize) await copy.write(i, at, [await store.read(at, Math.min(info.pieceSize, info.size - at))])
    return copy
  }

  private piecePrefix(mediaId: string): string {
    return `${this.appKey.replace(/index$/, '')}p/${mediaId}/`
  }

  /**
   * Fetches a media id. Calls for one id are set up one after the other (setting up waits on
   * storage): a second call while the first is under way follows that download, never starts a
   * rival one.
   */
  private async fetch(idOrMessage: string | MediaMessage, o: DownloadMediaOptions, path: string | null): Promise<HeldMedia> {
    const mediaId = mediaIdOfArg(idOrMessage)
    if (o.signal?.aborted) throw new PlazaError(ErrorCode.CANCELLED, 'cancelled')
    const before = this.settingUp.get(mediaId) ?? Promise.resolve()
    let done!: () => void
    const mine = before.then(() => new Promise<void>((r) => (done = r)))
    this.settingUp.set(mediaId, mine)
    let ready: HeldMedia | Running
    try {
      await before
      ready = await this.prepare(mediaId, o, path)
    } finally {
      // `done` was set when `before` settled (its callback runs before this function's).
      done()
      if (this.settingUp.get(mediaId) === mine) this.settingUp.delete(mediaId)
    }
    return ready instanceof HeldMedia ? ready : this.follow(ready, o)
  }

  private readonly settingUp = new Map<string, Promise<void>>()

  /** A held file, or the download that will make it so (started here, or already under way). */
  private async prepare(mediaId: string, o: DownloadMediaOptions, path: string | null): Promise<HeldMedia | Running> {
    let held = this.cache.get(mediaId)
    const origin = this.known.get(mediaId)
    if (held?.complete && path === null) return held
    const running = this.downloads.get(mediaId)
    if (running && path === null) return running
    const info = held?.info ?? origin?.info
    if (!info) throw new PlazaError(ErrorCode.MEDIA_NOT_FOUND, `unknown media id ${mediaId}: no message named it`)
    if (info.size > this.opts.maxFileBytes) throw new PlazaError(ErrorCode.MEDIA_TOO_LARGE, `${info.size} bytes is over this client's limit of ${this.opts.maxFileBytes}`)
    if (path !== null) {
      // Into a file: a new store of its own (a download already held elsewhere is copied from there).
      if (running) await running.d.finished.catch(() => undefined)
      const fileStore = await openOrThrow(() => this.host.files!.openWrite(path, info.size), 'write')
      const source = this.cache.get(mediaId)
      if (source?.complete) {
        for (let at = 0; at < info.size; at += info.pieceSize) await fileStore.write(at / info.pieceSize, at, [await source.store.read(at, Math.min(info.pieceSize, info.size - at))])
        await fileStore.commit?.()
        return source
      }
      held = new HeldMedia(info, source?.manifest ?? this.inlineManifest(info), fileStore, null, this.host.clock.now())
      if (source) await this.cache.remove(mediaId)
    } else if (!held) {
      const busy = (id: string) => this.server.busy(id) || this.downloads.has(id)
      if (!(await this.cache.makeRoom(info.size, busy))) {
        throw new PlazaError(ErrorCode.QUOTA_EXCEEDED, `the media cache (${this.opts.cacheBytes} bytes) has no room for ${info.size} bytes; release some media`)
      }
      const pieces = Math.ceil(info.size / info.pieceSize)
      const store = this.durable ? new StoragePieces(this.host.storage, this.piecePrefix(mediaId), info.pieceSize, pieces) : new MemoryPieces(info.pieceSize)
      held = new HeldMedia(info, this.inlineManifest(info), store, null, this.host.clock.now())
    }
    this.cache.add(held)
    const self = this.host.self()
    const first = [origin?.from, this.origins.get(mediaId)].filter((u): u is string => !!u && u !== self)
    const channel = origin?.channel ?? ''
    const progress = new Set<(p: DownloadProgress) => void>()
    const d = new Download(
      held,
      first,
      {
        transport: this.host.transport,
        clock: this.host.clock,
        random: this.host.random,
        sha256: this.host.sha256,
        swarm: channel !== '',
        moreSources: () => (channel ? this.host.channelSources(channel).filter((u) => u !== self) : []),
        pieceStored: () => this.saveIndex(),
        fromNode: (h, missing, verify) => {
          const ep = this.host.node()
          return ep ? downloadFromNode(ep, h, this.host.sha256, missing, verify, o.signal ?? new AbortController().signal) : Promise.resolve(false)
        },
      },
      (p) => {
        for (const fn of progress) fn(p)
      },
    )
    const started: Running = { d, progress, callers: 0 }
    this.downloads.set(mediaId, started)
    d.finished.then(
      () => {
        if (this.downloads.get(mediaId)?.d === d) this.downloads.delete(mediaId)
        this.saveIndex()
      },
      () => {
        if (this.downloads.get(mediaId)?.d === d) this.downloads.delete(mediaId)
        this.saveIndex()
      },
    )
    d.start()
    return started
  }

  /** The manifest the message carried, if it matches the id (else it is fetched, and checked then). */
  private inlineManifest(info: MediaInfo): Uint8Array | null {
    if (info.manifest.length === 0 && info.size > 0) return null
    return mediaIdOf(this.host.sha256, info.size, info.pieceSize, info.manifest) === info.mediaId ? info.manifest : null
  }

  /** Sources remembered across a reload (from the index). */
  private readonly origins = new Map<string, string>()

  /**
   * Waits for a download on behalf of one call. Calls for one media id share the transfer: one
   * call's signal ends that call (CANCELLED), and the transfer only once no call waits on it.
   */
  private async follow(r: Running, o: DownloadMediaOptions): Promise<HeldMedia> {
    const { d, progress } = r
    const fn = o.onProgress
    if (fn) progress.add(fn)
    r.callers++
    let onAbort: (() => void) | null = null
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        reject(new PlazaError(ErrorCode.CANCELLED, 'download cancelled'))
        if (r.callers === 1) d.cancel(new PlazaError(ErrorCode.CANCELLED, 'download cancelled'))
      }
    })
    aborted.catch(() => undefined)
    if (o.signal?.aborted) onAbort!()
    else o.signal?.addEventListener('abort', onAbort!, { once: true })
    try {
      await Promise.race([d.finished, aborted])
      fn?.({ loaded: d.held.info.size, total: d.held.info.size })
      return d.held
    } finally {
      r.callers--
      if (fn) progress.delete(fn)
      o.signal?.removeEventListener('abort', onAbort!)
    }
  }

  // ---- the index of held media (durable storage) -----------------------------------------------

  private saveIndex(): void {
    if (!this.durable || !this.appKey) return
    this.writer.schedule(this.appKey, () => this.encodeIndex())
  }

  private encodeIndex(): Uint8Array {
    const entries = [...this.cache.values()].filter((h) => h.store.durable && h.manifest)
    const e = new Encoder(256)
    e.uint8(INDEX_VERSION)
    e.varuint(entries.length)
    for (const h of entries) {
      e.bytes(encodeMediaInfo(h.info))
      e.bytes(h.manifest!)
      e.bytes(h.have.bits)
      e.uint8(h.store instanceof StoragePieces ? StoreKind.STORAGE : StoreKind.FILE)
      e.string((h.store as { path?: string }).path ?? '')
      e.bool(h.pinned)
      e.string(this.known.get(h.info.mediaId)?.from ?? this.origins.get(h.info.mediaId) ?? '')
    }
    return e.finish()
  }

  private async restore(bytes: Uint8Array): Promise<void> {
    const d = new Decoder(bytes)
    if (d.uint8() !== INDEX_VERSION) return
    const n = d.count(100_000)
    for (let k = 0; k < n; k++) {
      const info = decodeMediaInfo(d.bytes(64 * 1024))
      const manifest = d.bytes(1 << 24).slice()
      const bits = d.bytes(1 << 20)
      const kind = d.uint8()
      const path = d.string(4096)
      const pinned = d.bool()
      const from = d.string(64)
      const pieces = Math.ceil(info.size / info.pieceSize)
      const have = new PieceSet(pieces, bits)
      let store: PieceStore
      if (kind === StoreKind.STORAGE) {
        const s = new StoragePieces(this.host.storage, this.piecePrefix(info.mediaId), info.pieceSize, pieces)
        s.restored(have.count * info.pieceSize)
        store = s
      } else {
        if (!this.host.files || !have.complete) continue
        try {
          const opened = await this.host.files.openRead(path)
          if (opened.size !== info.size) continue
          store = opened.store
        } catch {
          continue
        }
      }
      const held = new HeldMedia(info, manifest, store, have, this.host.clock.now())
      held.pinned = pinned
      this.cache.add(held)
      if (from) this.origins.set(info.mediaId, from)
    }
  }
}

/** The media id a download names: a media message's, or one given as a string (a SHA-256 in base64url). */
function mediaIdOfArg(idOrMessage: unknown): string {
  const id = typeof idOrMessage === 'string' ? idOrMessage : (idOrMessage as { mediaId?: unknown } | null)?.mediaId
  if (!isValidMediaId(id)) {
    const shown = typeof id === 'string' ? `${JSON.stringify(id.slice(0, 64))}${id.length > 64 ? '…' : ''}` : typeof idOrMessage
    throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `a media message or its mediaId (43 characters of base64url), not ${shown}`)
  }
  return id
}

/** A file the app named that cannot be read is the app's mistake: INVALID_ARGUMENT, with the reason. */
async function openOrThrow<T>(open: () => Promise<T>, how: 'read' | 'write' = 'read'): Promise<T> {
  try {
    return await open()
  } catch (err) {
    throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `cannot ${how} the file: ${err instanceof Error ? err.message : String(err)}`)
  }
}
