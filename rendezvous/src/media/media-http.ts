/**
 * The media store on HTTP, for clients (a user's login token, `Authorization: Bearer`):
 *
 *   PUT  /media/{id}?pieceSize=N   the whole file; stored once its hashes make that id (201; 200 if stored already)
 *   HEAD /media/{id}               its size, piece size and SHA-256 in headers
 *   GET  /media/{id}               its bytes (Range: bytes=a-b for a part: 206)
 *   GET  /media/{id}/manifest      its piece hashes
 *
 * Errors are `{ error: CODE_NAME, message }` with a 4xx/5xx status, as on the REST API. Any origin
 * may call it (the token travels in a header, never in a cookie).
 */
import { createReadStream } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ErrorCode, PlazaError, readTokenClaims, type MediaInfo } from '@plaza/protocol'
import { mediaLimitsOf } from '../config.js'
import type { NodeContext } from '../context.js'
import { clientAddress } from '../server.js'
import { MediaError, PieceHasher, Slots, checkMediaId, declaredLength, parsePieceSize, parseRange, type MediaMeta } from './media-logic.js'
import { MediaStore, SWEEP_GRACE_MS } from './media-store.js'

/** Downloads under way at once per app (429 past it). */
const MAX_DOWNLOADS_PER_APP = 256
/**
 * How long the node goes on reading (and dropping) a body it answered before reading: closing on
 * bytes still arriving resets the connection, and the client loses the answer with it (nginx's
 * lingering close).
 */
const LINGER_MS = 2_000
/**
 * An upload slower than this on average, once it has run for the idle timeout, is cut off (408):
 * a byte now and then restarts the idle timer, and would hold one of the user's upload slots for
 * ever. At this rate the largest default file (100 MiB) takes 3.6 hours.
 */
const MIN_UPLOAD_BYTES_PER_S = 8 * 1024

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Content-Length, Content-Range, Accept-Ranges, X-Plaza-Piece-Size, X-Plaza-Sha256, X-Plaza-Expires-At',
}

interface Caller {
  appId: string
  uid: string
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...CORS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(close ? { connection: 'close' } : {}) })
  res.end(text)
}

/** Answers a request whose body is not (all) read: Node drops the rest after the answer, and the connection closes if that takes longer than LINGER_MS. */
function sendUnread(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  send(res, status, body)
  if (req.complete) return
  // Node drops the rest by itself only of a body nothing has read from.
  req.resume()
  const socket = req.socket
  const timer = setTimeout(() => socket.destroy(), LINGER_MS)
  timer.unref()
  req.once('end', () => clearTimeout(timer))
  socket.once('close', () => clearTimeout(timer))
}

const answer = (m: MediaMeta) => ({ mediaId: m.mediaId, size: m.size, expiresAt: m.expiresAt })

export class MediaHttp {
  readonly store: MediaStore
  private opened = false
  private readonly userUploads: Slots
  private readonly appUploads: Slots
  private readonly appDownloads = new Slots(() => MAX_DOWNLOADS_PER_APP)

  constructor(
    private readonly ctx: NodeContext,
    shared: boolean,
  ) {
    const cfg = ctx.config
    this.store = new MediaStore({
      dir: cfg.mediaDir || `${cfg.dataDir}/media`,
      now: () => ctx.rt.clock.now(),
      shared,
      staleTempMs: Math.max(2 * cfg.mediaIdleTimeoutMs, 60_000),
      log: ctx.log,
    })
    this.userUploads = new Slots(() => cfg.mediaUploadsPerUser)
    this.appUploads = new Slots(() => cfg.mediaUploadsPerApp)
  }

  async open(): Promise<void> {
    await this.store.open()
    this.opened = true
  }

  /** How often the sweeper runs: a quarter of the shortest retention, from 1 s to 10 min. */
  sweepIntervalMs(): number {
    const cfg = this.ctx.config
    const shortest = Math.min(cfg.mediaLimits.retentionMs, ...Object.values(cfg.mediaLimitsPerApp).map((l) => l.retentionMs ?? Infinity))
    return Math.min(600_000, Math.max(1000, Math.floor(shortest / 4)))
  }

  async sweep(): Promise<void> {
    if (!this.opened) return
    const n = await this.store.sweep()
    if (n) this.ctx.log.info({ n }, 'media: expired files removed')
  }

  /**
   * For an offline media message: whether its file is in this app's store; if so it is kept at
   * least until `until` (the stored message's own retention). A file whose size passes the
   * app's limit is refused (MEDIA_TOO_LARGE: uploading it would be refused too); one that is
   * stored but with another hash than the message says, MEDIA_INTEGRITY.
   */
  async holdFor(appId: string, info: MediaInfo, until: number): Promise<boolean> {
    if (info.size > mediaLimitsOf(this.ctx.config, appId).maxFileBytes) throw new PlazaError(ErrorCode.MEDIA_TOO_LARGE, 'the file is over the app’s limit for the media store')
    if (!this.opened) return false
    const meta = await this.store.extend(appId, info.mediaId, until + SWEEP_GRACE_MS)
    if (!meta) return false
    if (meta.size !== info.size || meta.pieceSize !== info.pieceSize || meta.sha256 !== Buffer.from(info.sha256).toString('hex')) {
      throw new PlazaError(ErrorCode.MEDIA_INTEGRITY, 'the message does not describe the stored file of that media id')
    }
    return true
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const m = /^\/media\/([^/]+)(\/manifest)?$/.exec(url.pathname)
    const method = req.method ?? 'GET'
    try {
      if (method === 'OPTIONS') return this.preflight(res)
      if (!m) throw new MediaError(404, ErrorCode.INVALID_ARGUMENT, 'no such endpoint: /media/{mediaId} or /media/{mediaId}/manifest')
      const caller = await this.authenticate(req)
      const mediaId = checkMediaId(m[1])
      if (!this.opened) throw new MediaError(503, ErrorCode.UNAVAILABLE, 'the media store is not open')
      if (m[2]) {
        if (method !== 'GET' && method !== 'HEAD') throw new MediaError(405, ErrorCode.INVALID_ARGUMENT, 'use GET')
        return await this.manifest(res, caller, mediaId, method === 'HEAD')
      }
      if (method === 'PUT') return await this.upload(req, res, caller, mediaId, url)
      if (method === 'GET' || method === 'HEAD') return await this.download(req, res, caller, mediaId, method === 'HEAD')
      throw new MediaError(405, ErrorCode.INVALID_ARGUMENT, 'use PUT, GET or HEAD')
    } catch (err) {
      // A client that went away mid-request (its connection reset) is no fault of the node's.
      const gone = (err as { code?: unknown } | null)?.code === 'ECONNRESET'
      const e = err instanceof MediaError ? err : gone ? new MediaError(400, ErrorCode.CANCELLED, 'the client went away') : new MediaError(500, ErrorCode.INTERNAL, 'internal error')
      if (e.status === 500) this.ctx.log.error({ err }, 'media request failed')
      if (res.headersSent) return void res.destroy()
      this.ctx.metrics.mediaRefusals.inc({ code: e.codeName })
      if (e.status === 401) res.setHeader('www-authenticate', 'Bearer')
      sendUnread(req, res, e.status, { error: e.codeName, message: e.message })
    }
  }

  private preflight(res: ServerResponse): void {
    res.writeHead(204, {
      ...CORS,
      'access-control-allow-methods': 'GET, HEAD, PUT, OPTIONS',
      'access-control-allow-headers': 'Authorization, Range, Content-Type',
      'access-control-max-age': '600',
    })
    res.end()
  }

  /** The caller of a user's token: its app (the audience), verified with that app's secret; not banned. */
  private async authenticate(req: IncomingMessage): Promise<Caller> {
    const m = /^Bearer ([!-~]+)$/.exec(req.headers.authorization ?? '')
    if (!m) throw new MediaError(401, ErrorCode.INVALID_TOKEN, 'Authorization: Bearer <the token you log in with>')
    let caller: Caller
    try {
      caller = readTokenClaims(m[1])
      const secret = this.ctx.config.apps[caller.appId]
      if (secret === undefined) throw new PlazaError(ErrorCode.INVALID_APP_ID, 'unknown app id')
      await this.ctx.rt.verifyToken(m[1], secret, caller)
    } catch (err) {
      const e = err instanceof PlazaError ? err : new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token')
      throw new MediaError(401, e.code, e.message)
    }
    const banned = this.ctx.moderation.loginRefusal(caller.appId, caller.uid, clientAddress(req, this.ctx.config.trustProxy))
    if (banned) throw new MediaError(403, banned.code, banned.message)
    return { appId: caller.appId, uid: caller.uid }
  }

  private async upload(req: IncomingMessage, res: ServerResponse, { appId, uid }: Caller, mediaId: string, url: URL): Promise<void> {
    const limits = mediaLimitsOf(this.ctx.config, appId)
    const pieceSize = parsePieceSize(url.searchParams.get('pieceSize'))
    const chunked = req.headers['transfer-encoding'] !== undefined
    const declared = chunked ? null : (declaredLength(req.headers['content-length'], limits.maxFileBytes) ?? 0)
    const now = this.ctx.rt.clock.now()
    // Stored already (the same bytes: the id is their hash): it stays longer, nothing is read.
    const existing = await this.store.extend(appId, mediaId, now + limits.retentionMs)
    if (existing) {
      this.ctx.metrics.mediaUploads.inc({ result: 'existing' })
      return sendUnread(req, res, 200, answer(existing))
    }
    const userKey = `${appId}\n${uid}`
    if (!this.userUploads.take(userKey)) throw new MediaError(429, ErrorCode.TOO_OFTEN, `at most ${this.ctx.config.mediaUploadsPerUser} uploads at once per user`)
    if (!this.appUploads.take(appId)) {
      this.userUploads.give(userKey)
      throw new MediaError(429, ErrorCode.TOO_OFTEN, `at most ${this.ctx.config.mediaUploadsPerApp} uploads at once per app`)
    }
    let reserved = 0
    const reserve = (n: number) => {
      if (!this.store.usage.reserve(appId, n, limits.quotaBytes)) {
        throw new MediaError(507, ErrorCode.QUOTA_EXCEEDED, `the app's media store is full (${limits.quotaBytes} bytes)`)
      }
      reserved += n
    }
    try {
      reserve(declared ?? 0)
      const meta = await this.receive(req, res, { appId, uid, mediaId, pieceSize, declared, maxBytes: limits.maxFileBytes, retentionMs: limits.retentionMs }, reserve)
      this.ctx.metrics.mediaUploads.inc({ result: 'stored' })
      send(res, 201, answer(meta))
    } finally {
      this.store.usage.release(appId, reserved)
      this.appUploads.give(appId)
      this.userUploads.give(userKey)
    }
  }

  /** Streams the body to a temp file, hashing it; commits it if its hashes make the id. */
  private async receive(
    req: IncomingMessage,
    res: ServerResponse,
    up: { appId: string; uid: string; mediaId: string; pieceSize: number; declared: number | null; maxBytes: number; retentionMs: number },
    reserve: (n: number) => void,
  ): Promise<MediaMeta> {
    const idleMs = this.ctx.config.mediaIdleTimeoutMs
    // A sender that stops sending (or sends a byte now and then: the timer restarts only on bytes) is cut off.
    req.setTimeout(idleMs, () => {
      this.ctx.metrics.mediaRefusals.inc({ code: 'TIMEOUT' })
      if (!res.headersSent) send(res, 408, { error: 'TIMEOUT', message: `no bytes for ${idleMs} ms` }, true)
      req.destroy(new PlazaError(ErrorCode.TIMEOUT, 'upload stalled'))
    })
    const temp = await this.store.tempFile()
    let committed = false
    try {
      if (req.headers.expect?.toLowerCase() === '100-continue') res.writeContinue()
      const hasher = new PieceHasher(up.pieceSize)
      const started = this.ctx.rt.clock.now()
      for await (const chunk of req.iterator({ destroyOnReturn: false })) {
        const bytes = chunk as Buffer
        const elapsed = this.ctx.rt.clock.now() - started
        if (elapsed > idleMs && (hasher.size * 1000) / elapsed < MIN_UPLOAD_BYTES_PER_S) {
          this.ctx.metrics.mediaRefusals.inc({ code: 'TIMEOUT' })
          throw new MediaError(408, ErrorCode.TIMEOUT, `uploads must average at least ${MIN_UPLOAD_BYTES_PER_S} bytes/s`)
        }
        if (hasher.size + bytes.length > up.maxBytes) throw new MediaError(413, ErrorCode.MEDIA_TOO_LARGE, `files are at most ${up.maxBytes} bytes`)
        if (up.declared === null) reserve(bytes.length)
        hasher.update(bytes)
        for (let at = 0; at < bytes.length; ) at += (await temp.handle.write(bytes, at, bytes.length - at)).bytesWritten
      }
      if (!req.complete) throw new MediaError(400, ErrorCode.CANCELLED, 'the upload ended before its body')
      const { manifest, sha256, mediaId } = hasher.finish()
      if (mediaId !== up.mediaId) throw new MediaError(400, ErrorCode.MEDIA_INTEGRITY, 'the bytes do not make that media id (with that pieceSize)')
      const now = this.ctx.rt.clock.now()
      const meta: MediaMeta = { mediaId, appId: up.appId, uploader: up.uid, size: hasher.size, pieceSize: up.pieceSize, sha256: sha256.toString('hex'), storedAt: now, expiresAt: now + up.retentionMs }
      await this.store.commit(temp, meta, manifest)
      committed = true
      return meta
    } catch (err) {
      if (err instanceof MediaError) throw err
      // The connection went (aborted, timed out): nothing to answer.
      if (!req.complete) throw new MediaError(400, ErrorCode.CANCELLED, 'the upload was cut off')
      throw err
    } finally {
      req.setTimeout(0)
      if (!committed) {
        await temp.handle.close().catch(() => undefined)
        await this.store.removeTemp(temp.path)
      }
    }
  }

  private async download(req: IncomingMessage, res: ServerResponse, { appId }: Caller, mediaId: string, head: boolean): Promise<void> {
    const meta = await this.store.get(appId, mediaId)
    if (!meta) throw new MediaError(404, ErrorCode.MEDIA_NOT_FOUND, 'no such media id in this app’s store (unknown or expired)')
    let range: ReturnType<typeof parseRange>
    try {
      range = parseRange(req.headers.range, meta.size)
    } catch (err) {
      res.setHeader('content-range', `bytes */${meta.size}`)
      throw err
    }
    const length = range ? range.end - range.start + 1 : meta.size
    const headers: Record<string, string | number> = {
      ...CORS,
      'content-type': 'application/octet-stream',
      'content-length': length,
      'accept-ranges': 'bytes',
      'cache-control': 'private, max-age=31536000, immutable',
      etag: `"${meta.mediaId}"`,
      'x-plaza-piece-size': meta.pieceSize,
      'x-plaza-sha256': meta.sha256,
      'x-plaza-expires-at': meta.expiresAt,
    }
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${meta.size}`
    const status = range ? 206 : 200
    if (head || length === 0) {
      res.writeHead(status, headers)
      return void res.end()
    }
    if (!this.appDownloads.take(appId)) throw new MediaError(429, ErrorCode.TOO_OFTEN, `at most ${MAX_DOWNLOADS_PER_APP} downloads at once per app`)
    res.once('close', () => this.appDownloads.give(appId))
    const idleMs = this.ctx.config.mediaIdleTimeoutMs
    const stream = createReadStream(this.store.paths(appId, mediaId).data, { start: range?.start ?? 0, end: range?.end ?? meta.size - 1 })
    // A reader that stops reading is cut off.
    res.setTimeout(idleMs, () => res.destroy())
    await new Promise<void>((resolve) => {
      stream.once('error', (err) => {
        resolve()
        if (res.headersSent) return void res.destroy()
        const gone = (err as NodeJS.ErrnoException).code === 'ENOENT'
        if (!gone) this.ctx.log.error({ err }, 'media read failed')
        send(res, gone ? 404 : 500, gone ? { error: 'MEDIA_NOT_FOUND', message: 'the file is gone (expired)' } : { error: 'INTERNAL', message: 'read failed' })
      })
      stream.once('open', () => {
        resolve()
        this.ctx.metrics.mediaDownloads.inc({ part: range ? 'range' : 'whole' })
        this.ctx.metrics.mediaServedBytes.inc(length)
        res.writeHead(status, headers)
        stream.pipe(res)
      })
      res.once('close', () => stream.destroy())
    })
  }

  private async manifest(res: ServerResponse, { appId }: Caller, mediaId: string, head: boolean): Promise<void> {
    const meta = await this.store.get(appId, mediaId)
    const bytes = meta ? await this.store.readManifest(appId, mediaId).catch(() => null) : null
    if (!meta || !bytes) throw new MediaError(404, ErrorCode.MEDIA_NOT_FOUND, 'no such media id in this app’s store (unknown or expired)')
    this.ctx.metrics.mediaDownloads.inc({ part: 'manifest' })
    res.writeHead(200, { ...CORS, 'content-type': 'application/octet-stream', 'content-length': bytes.length, 'x-plaza-piece-size': meta.pieceSize, 'x-plaza-sha256': meta.sha256 })
    res.end(head ? undefined : bytes)
  }
}
