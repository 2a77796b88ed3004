import {
  ErrorCode,
  MAX_DESCRIPTION_BYTES,
  MAX_FILE_NAME_BYTES,
  MAX_MIME_TYPE_BYTES,
  MAX_THUMBNAIL_BYTES,
  MediaType,
  PlazaError,
  decodeMediaInfo,
  encodeMediaInfo,
  isValidMediaId,
  utf8Length,
  type MediaInfo,
} from '@plaza/protocol'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'

/** A file or image message: made by `createMediaMessage`, sent like any message; the bytes are fetched with `downloadMedia`. */
export interface MediaMessage {
  messageType: 'FILE' | 'IMAGE'
  /** Names the bytes (content-addressed): whoever holds them can serve them. */
  mediaId: string
  size: number
  fileName: string
  mimeType: string
  description: string
  /** SHA-256 of the whole file, hex. */
  sha256: string
  /** Bytes per verified piece. */
  pieceSize: number
  /** A small image shown before the download (≤ 16 KiB); empty when none. */
  thumbnail: Uint8Array
  /** Pixels; 0 when not given. */
  width: number
  height: number
  /** The pieces' hashes, for files of up to 32 pieces (8 MiB); empty for larger ones (fetched with the file). */
  manifest?: Uint8Array
}

export interface CreateMediaOptions {
  messageType: 'FILE' | 'IMAGE'
  fileName: string
  mimeType?: string
  description?: string
  /** For an image: a small preview (≤ 16 KiB) that travels inside the message. */
  thumbnail?: Uint8Array
  width?: number
  height?: number
}

export function isMediaMessage(m: unknown): m is MediaMessage {
  const t = (m as { messageType?: unknown } | null)?.messageType
  return typeof m === 'object' && m !== null && (t === 'FILE' || t === 'IMAGE')
}

function invalid(what: string): PlazaError {
  return new PlazaError(ErrorCode.INVALID_ARGUMENT, what)
}

/** Width and height of an image, in pixels: at most this (a side of a gigapixel image is far below). */
const MAX_IMAGE_SIDE = 1_000_000

/** Checks the app's options (throws INVALID_ARGUMENT). */
export function checkCreateOptions(o: CreateMediaOptions): void {
  if (typeof o !== 'object' || o === null) throw invalid('options: { messageType, fileName, ... }')
  if (o.messageType !== 'FILE' && o.messageType !== 'IMAGE') throw invalid("messageType: 'FILE' or 'IMAGE'")
  if (typeof o.fileName !== 'string' || o.fileName === '' || utf8Length(o.fileName) > MAX_FILE_NAME_BYTES) {
    throw invalid(`fileName: 1–${MAX_FILE_NAME_BYTES} bytes`)
  }
  if (o.mimeType !== undefined && (typeof o.mimeType !== 'string' || utf8Length(o.mimeType) > MAX_MIME_TYPE_BYTES)) {
    throw invalid(`mimeType: at most ${MAX_MIME_TYPE_BYTES} bytes`)
  }
  if (o.description !== undefined && (typeof o.description !== 'string' || utf8Length(o.description) > MAX_DESCRIPTION_BYTES)) {
    throw invalid(`description: a string of at most ${MAX_DESCRIPTION_BYTES} bytes`)
  }
  if (o.thumbnail !== undefined && (!(o.thumbnail instanceof Uint8Array) || o.thumbnail.length > MAX_THUMBNAIL_BYTES)) {
    throw invalid(`thumbnail: a Uint8Array of at most ${MAX_THUMBNAIL_BYTES} bytes`)
  }
  for (const k of ['width', 'height'] as const) {
    const v = o[k]
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0 || v > MAX_IMAGE_SIDE)) throw invalid(`${k}: a whole number of pixels, at most ${MAX_IMAGE_SIDE}`)
  }
}

export function toMediaMessage(info: MediaInfo, description: string): MediaMessage {
  return {
    messageType: info.mediaType === MediaType.IMAGE ? 'IMAGE' : 'FILE',
    mediaId: info.mediaId,
    size: info.size,
    fileName: info.fileName,
    mimeType: info.mimeType,
    description,
    sha256: bytesToHex(info.sha256),
    pieceSize: info.pieceSize,
    thumbnail: info.thumbnail,
    width: info.width,
    height: info.height,
    manifest: info.manifest,
  }
}

/** The wire form of an app's media message; null when it is not a valid one. */
export function toMediaInfoBytes(m: MediaMessage): Uint8Array | null {
  const sha = typeof m.sha256 === 'string' && /^[0-9a-f]{64}$/i.test(m.sha256) ? hexToBytes(m.sha256) : null
  if (!sha || sha.length !== 32 || !isValidMediaId(m.mediaId)) return null
  try {
    const bytes = encodeMediaInfo({
      mediaId: m.mediaId,
      size: m.size,
      pieceSize: m.pieceSize,
      sha256: sha,
      mediaType: m.messageType === 'IMAGE' ? MediaType.IMAGE : MediaType.FILE,
      fileName: m.fileName,
      mimeType: m.mimeType ?? '',
      width: m.width ?? 0,
      height: m.height ?? 0,
      thumbnail: m.thumbnail ?? new Uint8Array(0),
      manifest: m.manifest ?? new Uint8Array(0),
    })
    decodeMediaInfo(bytes) // the same checks a receiver makes
    return bytes
  } catch {
    return null
  }
}
