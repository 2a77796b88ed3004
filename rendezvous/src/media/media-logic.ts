/**
 * The media store's rules, apart from its disk and sockets: hashing an upload piece by piece as
 * it streams, checking it against its id, reading a Range header, and what an app may still
 * store. The I/O (media-store.ts, media-http.ts) is a thin layer around these.
 */
import { createHash, type Hash } from 'node:crypto'
import { ErrorCode, MAX_PIECE_BYTES, MIN_PIECE_BYTES, PlazaError, isValidMediaId, mediaIdInput } from '@plaza/protocol'

/** What the store keeps of a file beside its bytes (its `.json`). */
export interface MediaMeta {
  mediaId: string
  appId: string
  /** The uid that uploaded it first. */
  uploader: string
  size: number
  pieceSize: number
  /** SHA-256 of the whole file, hex. */
  sha256: string
  storedAt: number
  expiresAt: number
}

/** An error of the media API: a code from @plaza/protocol and the HTTP status that carries it. */
export class MediaError extends PlazaError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message)
  }
}

/**
 * Hashes a file as it streams: the SHA-256 of each `pieceSize` piece (the manifest) and of the
 * whole. Holds one piece's hash state and the manifest (32 bytes a piece), never the bytes.
 */
export class PieceHasher {
  private readonly whole: Hash = createHash('sha256')
  private piece: Hash = createHash('sha256')
  private inPiece = 0
  private readonly digests: Buffer[] = []
  size = 0

  constructor(readonly pieceSize: number) {}

  update(chunk: Uint8Array): void {
    this.whole.update(chunk)
    this.size += chunk.length
    let at = 0
    while (at < chunk.length) {
      const take = Math.min(this.pieceSize - this.inPiece, chunk.length - at)
      this.piece.update(chunk.subarray(at, at + take))
      this.inPiece += take
      at += take
      if (this.inPiece === this.pieceSize) {
        this.digests.push(this.piece.digest())
        this.piece = createHash('sha256')
        this.inPiece = 0
      }
    }
  }

  /** The manifest, the whole file's SHA-256 and the id they make. Call once, at the end. */
  finish(): { manifest: Buffer; sha256: Buffer; mediaId: string } {
    if (this.inPiece > 0) this.digests.push(this.piece.digest())
    const manifest = Buffer.concat(this.digests)
    const mediaId = createHash('sha256').update(mediaIdInput(this.size, this.pieceSize, manifest)).digest('base64url')
    return { manifest, sha256: this.whole.digest(), mediaId }
  }
}

/** The piece size of an upload (`?pieceSize=N`): an integer the protocol allows. */
export function parsePieceSize(value: string | null): number {
  const n = Number(value)
  if (value === null || !/^\d+$/.test(value) || n < MIN_PIECE_BYTES || n > MAX_PIECE_BYTES) {
    throw new MediaError(400, ErrorCode.INVALID_ARGUMENT, `pieceSize: an integer from ${MIN_PIECE_BYTES} to ${MAX_PIECE_BYTES}`)
  }
  return n
}

export function checkMediaId(id: string): string {
  if (!isValidMediaId(id)) throw new MediaError(400, ErrorCode.INVALID_ARGUMENT, 'a media id is 43 base64url characters')
  return id
}

/** The declared length of a body: a number, null when none was given (chunked), or a refusal. */
export function declaredLength(header: string | undefined, maxFileBytes: number): number | null {
  if (header === undefined) return null
  if (!/^\d+$/.test(header)) throw new MediaError(400, ErrorCode.INVALID_ARGUMENT, 'bad Content-Length')
  const n = Number(header)
  if (n > maxFileBytes) throw new MediaError(413, ErrorCode.MEDIA_TOO_LARGE, `files are at most ${maxFileBytes} bytes`)
  return n
}

/**
 * The bytes a `Range` header asks for, inclusive; null for the whole file (no header, or one the
 * node does not serve: several ranges, another unit — served whole, as RFC 9110 allows).
 * Unsatisfiable: a 416.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null {
  if (!header) return null
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m || (m[1] === '' && m[2] === '')) return null
  let start: number
  let end: number
  if (m[1] === '') {
    // The last N bytes.
    const n = Number(m[2])
    if (n === 0) throw new MediaError(416, ErrorCode.INVALID_ARGUMENT, 'empty suffix range')
    start = Math.max(0, size - n)
    end = size - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
    if (m[2] !== '' && Number(m[2]) < start) return null
  }
  if (start >= size) throw new MediaError(416, ErrorCode.INVALID_ARGUMENT, `range outside the file (${size} bytes)`)
  return { start, end }
}

/** Bytes an app has stored (as this node knows it) and has reserved for uploads under way. */
export class AppUsage {
  private readonly stored = new Map<string, number>()
  private readonly reserved = new Map<string, number>()

  /** Replaces what is known of stored bytes (after a scan of the store). */
  reset(totals: Map<string, number>): void {
    this.stored.clear()
    for (const [app, n] of totals) this.stored.set(app, n)
  }

  storedBytes(appId: string): number {
    return this.stored.get(appId) ?? 0
  }

  totalStored(): number {
    let n = 0
    for (const v of this.stored.values()) n += v
    return n
  }

  addStored(appId: string, delta: number): void {
    const n = Math.max(0, this.storedBytes(appId) + delta)
    if (n === 0) this.stored.delete(appId)
    else this.stored.set(appId, n)
  }

  /** Takes `bytes` more of the app's quota for an upload under way; false past the quota. */
  reserve(appId: string, bytes: number, quota: number): boolean {
    const held = this.reserved.get(appId) ?? 0
    if (this.storedBytes(appId) + held + bytes > quota) return false
    this.reserved.set(appId, held + bytes)
    return true
  }

  release(appId: string, bytes: number): void {
    const n = (this.reserved.get(appId) ?? 0) - bytes
    if (n <= 0) this.reserved.delete(appId)
    else this.reserved.set(appId, n)
  }
}

/** Counts of things under way per key (uploads per user, per app), with a ceiling. */
export class Slots {
  private readonly held = new Map<string, number>()
  constructor(private readonly max: () => number) {}
  take(key: string): boolean {
    const n = this.held.get(key) ?? 0
    if (n >= this.max()) return false
    this.held.set(key, n + 1)
    return true
  }
  give(key: string): void {
    const n = (this.held.get(key) ?? 0) - 1
    if (n <= 0) this.held.delete(key)
    else this.held.set(key, n)
  }
}
