/**
 * Media (files and images) between clients. A media message is an ordinary peer or channel
 * message whose body is a MediaInfo: the file's id, size, name, type and hashes, and for an image
 * a small thumbnail. The bytes themselves travel apart, pulled by the receiver from whoever holds
 * them (the sender, a channel member that fetched them already, or the node's media store) in
 * blocks under the receiver's own flow control, and verified piece by piece.
 *
 * Integrity: a file is cut into pieces of `pieceSize` bytes; its manifest is the SHA-256 of each
 * piece, concatenated; its id is base64url(SHA-256(MEDIA_ID_PREFIX ‖ size ‖ pieceSize ‖ manifest)).
 * A receiver checks the manifest against the id, each piece against the manifest, and the whole
 * file against `sha256` — so any holder can serve any piece, and none can alter one.
 */
import { Decoder, Encoder } from './binary.js'
import { ErrorCode, ProtocolError } from './errors.js'
import { MAX_DESCRIPTION_BYTES, MAX_MESSAGE_BYTES } from './limits.js'

export const MEDIA_ID_PREFIX = 'plaza-media/1'
/** base64url of a SHA-256: 43 characters. */
export const MEDIA_ID_LENGTH = 43
export const MAX_FILE_NAME_BYTES = 255
export const MAX_MIME_TYPE_BYTES = 127
/** An image's thumbnail travels inside the message. */
export const MAX_THUMBNAIL_BYTES = 16 * 1024
/** The largest block of media bytes in one peer frame (over a direct link). */
export const MAX_MEDIA_BLOCK_BYTES = 64 * 1024
/** Blocks through the node's relay are smaller: they must fit its peer-frame limit. */
export const RELAY_MEDIA_BLOCK_BYTES = 16 * 1024
/** Pieces are what is hashed and verified; bounds of what a sender may choose. */
export const MIN_PIECE_BYTES = 16 * 1024
export const MAX_PIECE_BYTES = 4 * 1024 * 1024
/** Files this large at most, whatever an app allows (2^53 bytes would do; this keeps manifests small). */
export const MAX_MEDIA_BYTES = 64 * 1024 * 1024 * 1024

export enum MediaType {
  FILE = 0,
  IMAGE = 1,
}

export interface MediaInfo {
  mediaId: string
  size: number
  pieceSize: number
  /** SHA-256 of the whole file. */
  sha256: Uint8Array
  mediaType: MediaType
  fileName: string
  mimeType: string
  /** Pixels, 0 when not given. */
  width: number
  height: number
  /** A small image (≤ 16 KiB), empty when none. */
  thumbnail: Uint8Array
  /**
   * The manifest itself when it is small (files of up to 32 pieces: 8 MiB at 256 KiB pieces),
   * so that a receiver need not fetch it; empty otherwise.
   */
  manifest: Uint8Array
}

/** A manifest this small travels inside the message. */
export const MAX_INLINE_MANIFEST_BYTES = 32 * 32

const MEDIA_INFO_VERSION = 1
const MEDIA_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/

export function isValidMediaId(id: unknown): id is string {
  return typeof id === 'string' && MEDIA_ID_PATTERN.test(id)
}

/** Number of pieces of a file. */
export function pieceCount(size: number, pieceSize: number): number {
  return Math.ceil(size / pieceSize)
}

/** Bytes of what `computeMediaId` hashes (the manifest is the piece hashes, 32 bytes each). */
export function mediaIdInput(size: number, pieceSize: number, manifest: Uint8Array): Uint8Array {
  const e = new Encoder(manifest.length + 32)
  e.string(MEDIA_ID_PREFIX)
  e.varuint(size)
  e.varuint(pieceSize)
  e.bytes(manifest)
  return e.finish()
}

export function encodeMediaInfo(m: MediaInfo): Uint8Array {
  const e = new Encoder(160 + m.thumbnail.length + m.manifest.length + m.fileName.length * 3)
  e.uint8(MEDIA_INFO_VERSION)
  e.string(m.mediaId)
  e.varuint(m.size)
  e.varuint(m.pieceSize)
  e.bytes(m.sha256)
  e.uint8(m.mediaType)
  e.string(m.fileName)
  e.string(m.mimeType)
  e.varuint(m.width)
  e.varuint(m.height)
  e.bytes(m.thumbnail)
  e.bytes(m.manifest)
  return e.finish()
}

function malformed(what: string): ProtocolError {
  return new ProtocolError(ErrorCode.MALFORMED_FRAME, `media: ${what}`)
}

export function decodeMediaInfo(bytes: Uint8Array): MediaInfo {
  const d = new Decoder(bytes)
  if (d.uint8() !== MEDIA_INFO_VERSION) throw malformed('unknown version')
  const mediaId = d.string(MEDIA_ID_LENGTH)
  if (!isValidMediaId(mediaId)) throw malformed('invalid media id')
  const size = d.varuint()
  const pieceSize = d.varuint()
  if (size > MAX_MEDIA_BYTES) throw malformed('file too large')
  if (pieceSize < MIN_PIECE_BYTES || pieceSize > MAX_PIECE_BYTES) throw malformed('bad piece size')
  const sha256 = d.bytes(32)
  if (sha256.length !== 32) throw malformed('bad hash')
  const mediaType = d.uint8()
  if (mediaType !== MediaType.FILE && mediaType !== MediaType.IMAGE) throw malformed('unknown media type')
  const m: MediaInfo = {
    mediaId,
    size,
    pieceSize,
    sha256,
    mediaType,
    fileName: d.string(MAX_FILE_NAME_BYTES),
    mimeType: d.string(MAX_MIME_TYPE_BYTES),
    width: d.varuint(),
    height: d.varuint(),
    thumbnail: d.bytes(MAX_THUMBNAIL_BYTES),
    manifest: d.bytes(MAX_INLINE_MANIFEST_BYTES),
  }
  if (m.manifest.length !== 0 && m.manifest.length !== pieceCount(size, pieceSize) * 32) throw malformed('inline manifest of the wrong length')
  d.end()
  return m
}

// --- transfer frames (peer frames 4–8) --------------------------------------------------------

/** Which bytes of a media id a request asks for. */
export enum MediaPart {
  /** The piece hashes (32 bytes a piece), checked against the id. */
  MANIFEST = 0,
  /** The file itself. */
  DATA = 1,
}

export enum MediaErrorCode {
  /** This holder does not have (or no longer has) that media id, or not those bytes. */
  NOT_FOUND = 1,
  /** This holder serves too many at once; ask another or later. */
  BUSY = 2,
  /** The request was malformed (range outside the file, say). */
  BAD_REQUEST = 3,
}

/** Peer frame types of media transfer (after PeerFrameType's MESSAGE, ACK, SYNC). */
export enum MediaFrameType {
  /** Please send bytes [offset, offset + length) of a part. */
  REQUEST = 4,
  /** Bytes of a part, answering a request. */
  DATA = 5,
  /** Which pieces do you hold? → HAVE. */
  QUERY = 6,
  HAVE = 7,
  /** A request could not be served. */
  ERROR = 8,
  /** Forget requests of mine for this id (reqId 0: all of them). */
  CANCEL = 9,
}

export type MediaRequestFrame = { type: MediaFrameType.REQUEST; mediaId: string; reqId: number; part: MediaPart; offset: number; length: number }
export type MediaDataFrame = { type: MediaFrameType.DATA; mediaId: string; reqId: number; part: MediaPart; offset: number; bytes: Uint8Array }
export type MediaQueryFrame = { type: MediaFrameType.QUERY; mediaId: string; reqId: number }
/** `pieces`: a bitfield (bit i of byte i>>3, most significant first) of verified pieces; empty when `complete`. */
export type MediaHaveFrame = { type: MediaFrameType.HAVE; mediaId: string; reqId: number; complete: boolean; pieces: Uint8Array }
export type MediaErrorFrame = { type: MediaFrameType.ERROR; mediaId: string; reqId: number; code: MediaErrorCode }
export type MediaCancelFrame = { type: MediaFrameType.CANCEL; mediaId: string; reqId: number }

export type MediaFrame = MediaRequestFrame | MediaDataFrame | MediaQueryFrame | MediaHaveFrame | MediaErrorFrame | MediaCancelFrame

/** The largest request: what a receiver may ask of one holder at once. */
export const MAX_MEDIA_REQUEST_BYTES = 16 * 1024 * 1024
/** A HAVE bitfield covers at most this many pieces (64 GiB at 256 KiB pieces... and more at larger). */
const MAX_HAVE_BYTES = 64 * 1024

export function isMediaFrameType(t: number): t is MediaFrameType {
  return t >= MediaFrameType.REQUEST && t <= MediaFrameType.CANCEL
}

export function encodeMediaFrame(f: MediaFrame): Uint8Array {
  if (f.type === MediaFrameType.DATA) return encodeData(f)
  const e = new Encoder(f.type === MediaFrameType.HAVE ? f.pieces.length + 80 : 80)
  e.varuint(f.type)
  e.string(f.mediaId)
  e.varuint(f.reqId)
  switch (f.type) {
    case MediaFrameType.REQUEST:
      e.uint8(f.part)
      e.varuint(f.offset)
      e.varuint(f.length)
      break
    case MediaFrameType.HAVE:
      e.bool(f.complete)
      e.bytes(f.pieces)
      break
    case MediaFrameType.ERROR:
      e.varuint(f.code)
      break
    default:
      break
  }
  return e.finish()
}

/** A DATA frame's bytes before its `length` bytes of data (a sender may lay out many blocks in one buffer). */
export function encodeMediaDataHeader(mediaId: string, reqId: number, part: MediaPart, offset: number, length: number): Uint8Array {
  const e = new Encoder(80)
  e.varuint(MediaFrameType.DATA)
  e.string(mediaId)
  e.varuint(reqId)
  e.uint8(part)
  e.varuint(offset)
  e.varuint(length)
  return e.finish()
}

/** DATA is most of a transfer's bytes: its header is encoded apart and the block copied once, into the frame. */
function encodeData(f: MediaDataFrame): Uint8Array {
  const head = encodeMediaDataHeader(f.mediaId, f.reqId, f.part, f.offset, f.bytes.length)
  const out = new Uint8Array(head.length + f.bytes.length)
  out.set(head)
  out.set(f.bytes, head.length)
  return out
}

function readPart(d: Decoder): MediaPart {
  const p = d.uint8()
  if (p !== MediaPart.MANIFEST && p !== MediaPart.DATA) throw malformed('unknown part')
  return p
}

export function decodeMediaFrame(bytes: Uint8Array): MediaFrame {
  const d = new Decoder(bytes)
  const type = d.varuint()
  if (!isMediaFrameType(type)) throw new ProtocolError(ErrorCode.UNKNOWN_FRAME, `not a media frame: ${type}`)
  const mediaId = d.string(MEDIA_ID_LENGTH)
  if (!isValidMediaId(mediaId)) throw malformed('invalid media id')
  const reqId = d.varuint()
  let f: MediaFrame
  switch (type) {
    case MediaFrameType.REQUEST: {
      const part = readPart(d)
      const offset = d.varuint()
      const length = d.varuint()
      if (length === 0 || length > MAX_MEDIA_REQUEST_BYTES) throw malformed('bad request length')
      f = { type, mediaId, reqId, part, offset, length }
      break
    }
    case MediaFrameType.DATA: {
      const part = readPart(d)
      f = { type, mediaId, reqId, part, offset: d.varuint(), bytes: d.bytes(MAX_MEDIA_BLOCK_BYTES) }
      break
    }
    case MediaFrameType.HAVE:
      f = { type, mediaId, reqId, complete: d.bool(), pieces: d.bytes(MAX_HAVE_BYTES) }
      break
    case MediaFrameType.ERROR: {
      const code = d.varuint()
      if (code < MediaErrorCode.NOT_FOUND || code > MediaErrorCode.BAD_REQUEST) throw malformed('unknown error code')
      f = { type, mediaId, reqId, code }
      break
    }
    default:
      f = { type, mediaId, reqId }
  }
  d.end()
  return f
}

/** A media message's body fits a message: the info plus the description. */
export const MAX_MEDIA_INFO_BYTES = MAX_MESSAGE_BYTES - MAX_DESCRIPTION_BYTES
