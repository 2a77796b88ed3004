import { describe, expect, it } from 'vitest'
import {
  ErrorCode,
  MediaErrorCode,
  MediaFrameType,
  MediaPart,
  MediaType,
  decodeMediaFrame,
  decodeMediaInfo,
  encodeMediaFrame,
  encodeMediaInfo,
  isValidMediaId,
  type MediaFrame,
  type MediaInfo,
} from '../src/index.js'

const ID = 'A'.repeat(42) + '_'
const info: MediaInfo = {
  mediaId: ID,
  size: 5_000_000_000,
  pieceSize: 1024 * 1024,
  sha256: new Uint8Array(32).fill(9),
  mediaType: MediaType.IMAGE,
  fileName: 'café ☕.png',
  mimeType: 'image/png',
  width: 4000,
  height: 3000,
  thumbnail: new Uint8Array(16 * 1024).fill(1),
  manifest: new Uint8Array(0),
}

describe('media info', () => {
  it('round-trips, sizes past 4 GiB included', () => {
    expect(decodeMediaInfo(encodeMediaInfo(info))).toEqual(info)
    const small = { ...info, size: 600 * 1024, pieceSize: 256 * 1024, manifest: new Uint8Array(3 * 32).fill(4) }
    expect(decodeMediaInfo(encodeMediaInfo(small))).toEqual(small)
  })

  it('refuses what a receiver must not trust', () => {
    const bad = (patch: Partial<MediaInfo>) => () => decodeMediaInfo(encodeMediaInfo({ ...info, ...patch }))
    expect(bad({ mediaId: 'short' })).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_FRAME }))
    expect(bad({ pieceSize: 1000 })).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_FRAME }))
    expect(bad({ sha256: new Uint8Array(31) })).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_FRAME }))
    expect(bad({ thumbnail: new Uint8Array(16 * 1024 + 1) })).toThrow(expect.objectContaining({ code: ErrorCode.FRAME_TOO_LARGE }))
    expect(bad({ mediaType: 7 as MediaType })).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_FRAME }))
    // An inline manifest must name every piece (and is only for small files).
    expect(bad({ size: 600 * 1024, pieceSize: 256 * 1024, manifest: new Uint8Array(2 * 32) })).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_FRAME }))
    expect(bad({ manifest: new Uint8Array(33 * 32) })).toThrow(expect.objectContaining({ code: ErrorCode.FRAME_TOO_LARGE }))
    const extra = new Uint8Array([...encodeMediaInfo(info), 0])
    expect(() => decodeMediaInfo(extra)).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_FRAME }))
  })

  it('media ids are 43 base64url characters', () => {
    expect(isValidMediaId(ID)).toBe(true)
    expect(isValidMediaId('../' + 'A'.repeat(40))).toBe(false)
    expect(isValidMediaId('A'.repeat(44))).toBe(false)
    expect(isValidMediaId(42)).toBe(false)
  })
})

describe('media transfer frames', () => {
  const frames: MediaFrame[] = [
    { type: MediaFrameType.REQUEST, mediaId: ID, reqId: 7, part: MediaPart.DATA, offset: 3 * 2 ** 32, length: 256 * 1024 },
    { type: MediaFrameType.DATA, mediaId: ID, reqId: 7, part: MediaPart.MANIFEST, offset: 64, bytes: new Uint8Array(64 * 1024).fill(3) },
    { type: MediaFrameType.QUERY, mediaId: ID, reqId: 0 },
    { type: MediaFrameType.HAVE, mediaId: ID, reqId: 0, complete: false, pieces: new Uint8Array([0b10100000]) },
    { type: MediaFrameType.ERROR, mediaId: ID, reqId: 9, code: MediaErrorCode.BUSY },
    { type: MediaFrameType.CANCEL, mediaId: ID, reqId: 0 },
  ]
  it('round-trip', () => {
    for (const f of frames) expect(decodeMediaFrame(encodeMediaFrame(f))).toEqual(f)
  })

  it('refuse oversize blocks, empty or huge requests, unknown parts and codes, trailing bytes', () => {
    const data = { type: MediaFrameType.DATA, mediaId: ID, reqId: 1, part: MediaPart.DATA, offset: 0, bytes: new Uint8Array(64 * 1024 + 1) } as const
    expect(() => decodeMediaFrame(encodeMediaFrame(data))).toThrow(expect.objectContaining({ code: ErrorCode.FRAME_TOO_LARGE }))
    const req = (length: number) => encodeMediaFrame({ type: MediaFrameType.REQUEST, mediaId: ID, reqId: 1, part: MediaPart.DATA, offset: 0, length })
    expect(() => decodeMediaFrame(req(0))).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_FRAME }))
    expect(() => decodeMediaFrame(req(16 * 1024 * 1024 + 1))).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_FRAME }))
    const part = req(1)
    part[1 + 1 + 43 + 1] = 5 // the part byte
    expect(() => decodeMediaFrame(part)).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_FRAME }))
    const err = encodeMediaFrame({ type: MediaFrameType.ERROR, mediaId: ID, reqId: 1, code: 99 as MediaErrorCode })
    expect(() => decodeMediaFrame(err)).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_FRAME }))
    expect(() => decodeMediaFrame(new Uint8Array([...encodeMediaFrame(frames[2]), 1]))).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_FRAME }))
    expect(() => decodeMediaFrame(new Uint8Array([3]))).toThrow(expect.objectContaining({ code: ErrorCode.UNKNOWN_FRAME }))
  })
})
