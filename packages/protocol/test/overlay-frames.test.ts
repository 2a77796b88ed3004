import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  ErrorCode,
  Encoder,
  GossipFlag,
  MAX_OVERLAY_IDS,
  MessageKind,
  OverlayFrameType,
  PlazaError,
  ProtocolError,
  decodeOverlayFrame,
  decodeOverlayBody,
  encodeOverlayBody,
  MAX_DESCRIPTION_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_OVERLAY_BODY_BYTES,
  encodeOverlayFrame,
  isOverlayFrameBytes,
  overlayCertSigningBytes,
  overlayMessageSigningBytes,
  peekOverlayFrame,
  type MemberCert,
  type OverlayFrame,
  type OverlayGossipFrame,
} from '../src/index.js'

const cert: MemberCert = { app: 'app1', channel: 'room', uid: 'alice', pubkey: new Uint8Array(32).fill(7), expiry: 1_800_000_000_000, sig: new Uint8Array(64).fill(9) }
const gossip: OverlayGossipFrame = {
  type: OverlayFrameType.GOSSIP,
  channel: 'room',
  origin: 'alice',
  stream: 'str1',
  seq: 3,
  prevTs: 1_700_000_000_000,
  sentTs: 1_700_000_000_500,
  kind: MessageKind.TEXT,
  body: new TextEncoder().encode('hello'),
  hops: 2,
  flags: GossipFlag.REPAIR,
  sig: new Uint8Array(64).fill(1),
  cert,
}
const id = { origin: 'alice', stream: 'str1', seq: 5 }
const frames: OverlayFrame[] = [
  gossip,
  { type: OverlayFrameType.IHAVE, channel: 'room', ids: [{ ...id, hops: 3 }, { origin: 'bob', stream: 'x', seq: 1, hops: 0 }] },
  { type: OverlayFrameType.GRAFT, channel: 'room', ids: [id] },
  { type: OverlayFrameType.PRUNE, channel: 'room', streams: [{ origin: 'alice', stream: 'str1' }] },
  { type: OverlayFrameType.PULL, channel: 'room', origin: 'alice', stream: 'str1', from: 4, to: 9 },
  { type: OverlayFrameType.NEIGHBOR, channel: 'room', urgent: true },
  { type: OverlayFrameType.NEIGHBOR_REPLY, channel: 'room', accepted: false, suggest: ['bob', 'carol'] },
  { type: OverlayFrameType.DISCONNECT, channel: 'room', suggest: [] },
]

function codeOf(bytes: Uint8Array): ErrorCode | null {
  try {
    decodeOverlayFrame(bytes)
    return null
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e
    return e.code
  }
}

/** Re-encodes a gossip frame with one field changed, bypassing the encoder's types. */
const withGossip = (over: Partial<Record<keyof OverlayGossipFrame, unknown>>) => encodeOverlayFrame({ ...gossip, ...over } as OverlayGossipFrame)

describe('overlay frames', () => {
  it('round-trip every frame type', () => {
    for (const f of frames) {
      const bytes = encodeOverlayFrame(f)
      expect(isOverlayFrameBytes(bytes)).toBe(true)
      expect(peekOverlayFrame(bytes)).toEqual({ type: f.type, channel: 'room' })
      expect(decodeOverlayFrame(bytes)).toEqual(f)
    }
  })

  it('refuse bad frames with a code', () => {
    expect(codeOf(new Uint8Array([]))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(codeOf(new Uint8Array([1, 0]))).toBe(ErrorCode.UNKNOWN_FRAME)
    expect(codeOf(new Uint8Array([24, 0]))).toBe(ErrorCode.UNKNOWN_FRAME)
    expect(codeOf(encodeOverlayFrame({ ...frames[5]!, channel: ' ' } as OverlayFrame))).toBe(ErrorCode.INVALID_CHANNEL_ID)
    expect(codeOf(withGossip({ origin: '' }))).toBe(ErrorCode.INVALID_USER_ID)
    expect(codeOf(withGossip({ seq: 0 }))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(codeOf(withGossip({ seq: 1 }))).toBe(ErrorCode.MALFORMED_FRAME) // a first message with a previous time
    expect(codeOf(withGossip({ kind: 9 }))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(codeOf(withGossip({ flags: 4 }))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(codeOf(withGossip({ sig: new Uint8Array(63) }))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(codeOf(withGossip({ sig: new Uint8Array(65) }))).toBe(ErrorCode.FRAME_TOO_LARGE)
    expect(codeOf(withGossip({ cert: { ...cert, pubkey: new Uint8Array(31) } }))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(codeOf(withGossip({ cert: { ...cert, uid: 'mallory' } }))).toBe(ErrorCode.INVALID_MESSAGE)
    expect(codeOf(withGossip({ cert: { ...cert, channel: 'other' } }))).toBe(ErrorCode.INVALID_MESSAGE)
    expect(codeOf(withGossip({ body: new Uint8Array(MAX_OVERLAY_BODY_BYTES + 1) }))).toBe(ErrorCode.FRAME_TOO_LARGE)
    expect(codeOf(encodeOverlayFrame({ type: OverlayFrameType.PULL, channel: 'room', origin: 'a', stream: 's', from: 1, to: 300 }))).toBe(ErrorCode.TOO_MANY_IDS)
    const many = Array.from({ length: MAX_OVERLAY_IDS + 1 }, (_, i) => ({ ...id, seq: i + 1 }))
    expect(codeOf(encodeOverlayFrame({ type: OverlayFrameType.GRAFT, channel: 'room', ids: many }))).toBe(ErrorCode.TOO_MANY_IDS)
    const good = encodeOverlayFrame(gossip)
    expect(codeOf(good.subarray(0, good.length - 1))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(codeOf(new Uint8Array([...good, 0]))).toBe(ErrorCode.MALFORMED_FRAME)
    const e = new Encoder()
    e.varuint(OverlayFrameType.NEIGHBOR)
    e.string('room')
    e.uint8(2)
    expect(codeOf(e.finish())).toBe(ErrorCode.MALFORMED_FRAME)
  })

  it('never throw anything but a coded ProtocolError on arbitrary or mutated bytes', () => {
    const encoded = frames.map((f) => encodeOverlayFrame(f))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.tuple(fc.nat(encoded.length - 1), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, pos, b]) => {
            const x = encoded[i]!.slice()
            x[pos % x.length] = b
            return x
          }),
          fc.tuple(fc.nat(encoded.length - 1), fc.nat()).map(([i, cut]) => encoded[i]!.slice(0, cut % encoded[i]!.length)),
        ),
        (bytes) => {
          try {
            const f = decodeOverlayFrame(bytes)
            expect(decodeOverlayFrame(encodeOverlayFrame(f))).toEqual(f)
          } catch (e) {
            expect(e).toBeInstanceOf(PlazaError)
            expect(ErrorCode[(e as PlazaError).code]).toBeDefined()
          }
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('sign every field but hops and flags, under a domain tag', () => {
    const base = overlayMessageSigningBytes(gossip)
    expect(overlayMessageSigningBytes({ ...gossip, hops: 9, flags: 0 } as OverlayGossipFrame)).toEqual(base)
    for (const over of [{ channel: 'x' }, { origin: 'bob' }, { stream: 's2' }, { seq: 4 }, { prevTs: 1 }, { sentTs: 2 }, { kind: MessageKind.RAW }, { body: new Uint8Array([1]) }]) {
      expect(overlayMessageSigningBytes({ ...gossip, ...over })).not.toEqual(base)
    }
    const c = overlayCertSigningBytes(cert)
    for (const over of [{ app: 'x' }, { channel: 'x' }, { uid: 'x' }, { pubkey: new Uint8Array(32) }, { expiry: 1 }]) {
      expect(overlayCertSigningBytes({ ...cert, ...over })).not.toEqual(c)
    }
    // A message's signed bytes can never pass for a certificate's (different tags).
    expect(new TextDecoder().decode(base.subarray(1, 24))).toBe('plaza/overlay-message/1')
    expect(new TextDecoder().decode(c.subarray(1, 21))).toBe('plaza/overlay-cert/1')
  })
})

describe('overlay message bodies', () => {
  it('carry text as UTF-8, and raw or media bytes with their description, up to the message limits', () => {
    const text = 'héllo ✓'
    expect(decodeOverlayBody(MessageKind.TEXT, encodeOverlayBody(MessageKind.TEXT, text, new Uint8Array(0), ''))).toEqual({ text, bytes: new Uint8Array(0), description: '' })
    const bytes = new Uint8Array(MAX_MESSAGE_BYTES).fill(7)
    const description = 'd'.repeat(MAX_DESCRIPTION_BYTES)
    const body = encodeOverlayBody(MessageKind.RAW, '', bytes, description)
    expect(body.length).toBeLessThanOrEqual(MAX_OVERLAY_BODY_BYTES)
    expect(decodeOverlayBody(MessageKind.RAW, body)).toEqual({ text: '', bytes, description })
  })

  it('refuse a body past the limits, cut short, or with bytes after it', () => {
    const code = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return (e as ProtocolError).code
      }
      return null
    }
    expect(code(() => decodeOverlayBody(MessageKind.TEXT, new Uint8Array(MAX_MESSAGE_BYTES + 1)))).toBe(ErrorCode.INVALID_MESSAGE)
    const raw = encodeOverlayBody(MessageKind.RAW, '', new Uint8Array([1, 2, 3]), 'x')
    expect(code(() => decodeOverlayBody(MessageKind.RAW, raw.subarray(0, raw.length - 1)))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(code(() => decodeOverlayBody(MessageKind.RAW, new Uint8Array([...raw, 0])))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(code(() => decodeOverlayBody(MessageKind.RAW, encodeOverlayBody(MessageKind.RAW, '', new Uint8Array(MAX_MESSAGE_BYTES + 1), '')))).toBe(ErrorCode.FRAME_TOO_LARGE)
  })
})
