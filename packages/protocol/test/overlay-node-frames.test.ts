import { generateKeyPairSync, sign as edSign, verify as edVerify, createPublicKey } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  ErrorCode,
  FrameType,
  MAX_OVERLAY_CANDIDATES,
  ProtocolError,
  decodeClientFrame,
  decodeFrame,
  decodeServerFrame,
  encodeFrame,
  issueOverlayCert,
  peekRequestId,
  verifyOverlayCert,
  type Frame,
  type MemberCert,
} from '../src/index.js'

const key32 = new Uint8Array(32).fill(3)
const cert: MemberCert = { app: 'app1', channel: 'room', uid: 'alice', pubkey: key32, expiry: 1_800_000_000_000, sig: new Uint8Array(64).fill(9) }
const roundTrip = (f: Frame) => expect(decodeFrame(encodeFrame(f))).toEqual(f)

function codeOf(fn: () => unknown): ErrorCode | null {
  try {
    fn()
    return null
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError)
    return (err as ProtocolError).code
  }
}

describe('overlay fields and frames on the node wire (protocol 4)', () => {
  it('round-trips the optional fields and the candidate frames', () => {
    const base = { type: FrameType.LOGIN_OK, sessionId: 's', resumed: false, resync: false, serverTs: 1, pingIntervalMs: 2000, tokenExpiresAt: 9 } as const
    roundTrip(base)
    roundTrip({ ...base, nodeKey: { id: '0123456789abcdef', publicKey: key32 } })
    roundTrip({ type: FrameType.JOIN_CHANNEL, reqId: 4, channel: 'room' })
    roundTrip({ type: FrameType.JOIN_CHANNEL, reqId: 4, channel: 'room', overlayKey: key32 })
    roundTrip({ type: FrameType.MEMBERS, reqId: 4, channel: 'room', count: 2, members: ['a', 'b'] })
    roundTrip({ type: FrameType.MEMBERS, reqId: 4, channel: 'room', count: 2, members: ['a', 'b'], cert })
    roundTrip({ type: FrameType.OVERLAY_CANDIDATES, reqId: 7, channel: 'room', max: 6 })
    roundTrip({ type: FrameType.OVERLAY_CANDIDATES_RESULT, reqId: 7, channel: 'room', candidates: [] })
    roundTrip({ type: FrameType.OVERLAY_CANDIDATES_RESULT, reqId: 7, channel: 'room', candidates: [{ uid: 'bob', cert: null }, { uid: 'alice', cert }] })
    roundTrip({ type: FrameType.OVERLAY_OUTSIDE_SEND, reqId: 8, channel: 'room', payload: new Uint8Array([1, 2, 3]) })
    roundTrip({ type: FrameType.OVERLAY_OUTSIDE, channel: 'room', count: 3, version: 17 })
  })

  it('takes the fallback send from clients only and the outside count from nodes only', () => {
    const send = encodeFrame({ type: FrameType.OVERLAY_OUTSIDE_SEND, reqId: 8, channel: 'room', payload: new Uint8Array([1]) })
    const outside = encodeFrame({ type: FrameType.OVERLAY_OUTSIDE, channel: 'room', count: 1, version: 1 })
    expect(decodeClientFrame(send).type).toBe(FrameType.OVERLAY_OUTSIDE_SEND)
    expect(codeOf(() => decodeServerFrame(send))).toBe(ErrorCode.UNEXPECTED_FRAME)
    expect(decodeServerFrame(outside).type).toBe(FrameType.OVERLAY_OUTSIDE)
    expect(codeOf(() => decodeClientFrame(outside))).toBe(ErrorCode.UNEXPECTED_FRAME)
    expect(codeOf(() => decodeFrame(outside.subarray(0, outside.length - 1)))).toBe(ErrorCode.MALFORMED_FRAME)
  })

  it('keeps the frames of older clients byte for byte when the optional fields are absent', () => {
    // A version-3 JOIN_CHANNEL / LOGIN_OK / MEMBERS: tag, then exactly the old fields.
    expect([...encodeFrame({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'r' })]).toEqual([FrameType.JOIN_CHANNEL, 1, 1, 0x72])
    const ok = encodeFrame({ type: FrameType.LOGIN_OK, sessionId: 's', resumed: true, resync: false, serverTs: 1, pingIntervalMs: 2, tokenExpiresAt: 3 })
    expect([...ok]).toEqual([FrameType.LOGIN_OK, 1, 0x73, 1, 1, 2, 3, 0])
  })

  it('tells the new frames apart: candidates from clients, results from nodes, reqId readable', () => {
    const ask = encodeFrame({ type: FrameType.OVERLAY_CANDIDATES, reqId: 7, channel: 'room', max: 6 })
    const answer = encodeFrame({ type: FrameType.OVERLAY_CANDIDATES_RESULT, reqId: 7, channel: 'room', candidates: [] })
    expect(decodeClientFrame(ask).type).toBe(FrameType.OVERLAY_CANDIDATES)
    expect(codeOf(() => decodeServerFrame(ask))).toBe(ErrorCode.UNEXPECTED_FRAME)
    expect(codeOf(() => decodeClientFrame(answer))).toBe(ErrorCode.UNEXPECTED_FRAME)
    expect(peekRequestId(answer)).toBe(7)
  })

  it('refuses bad candidate counts, short node keys, oversize overlay keys and bad certificates', () => {
    for (const max of [0, MAX_OVERLAY_CANDIDATES + 1]) {
      expect(codeOf(() => decodeFrame(encodeFrame({ type: FrameType.OVERLAY_CANDIDATES, reqId: 1, channel: 'room', max })))).toBe(ErrorCode.INVALID_ARGUMENT)
    }
    const shortKey = encodeFrame({ type: FrameType.LOGIN_OK, sessionId: 's', resumed: false, resync: false, serverTs: 1, pingIntervalMs: 2, tokenExpiresAt: 3, nodeKey: { id: 'k', publicKey: new Uint8Array(31) } })
    expect(codeOf(() => decodeFrame(shortKey))).toBe(ErrorCode.MALFORMED_FRAME)
    const longKey = encodeFrame({ type: FrameType.LOGIN_OK, sessionId: 's', resumed: false, resync: false, serverTs: 1, pingIntervalMs: 2, tokenExpiresAt: 3, nodeKey: { id: 'k', publicKey: new Uint8Array(33) } })
    expect(codeOf(() => decodeFrame(longKey))).toBe(ErrorCode.FRAME_TOO_LARGE)
    // A join key of the wrong length decodes (the node answers it INVALID_ARGUMENT, with the reqId); past 64 bytes it is not read.
    expect(decodeFrame(encodeFrame({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'room', overlayKey: new Uint8Array(31) }))).toMatchObject({ overlayKey: new Uint8Array(31) })
    expect(codeOf(() => decodeFrame(encodeFrame({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'room', overlayKey: new Uint8Array(65) })))).toBe(ErrorCode.FRAME_TOO_LARGE)
    const badCert = encodeFrame({ type: FrameType.MEMBERS, reqId: 1, channel: 'room', count: 0, members: [], cert: { ...cert, sig: new Uint8Array(63) } })
    expect(codeOf(() => decodeFrame(badCert))).toBe(ErrorCode.MALFORMED_FRAME)
    // Trailing bytes after the optional field are still refused.
    const joined = encodeFrame({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'room', overlayKey: key32 })
    expect(codeOf(() => decodeFrame(new Uint8Array([...joined, 0])))).toBe(ErrorCode.MALFORMED_FRAME)
  })

  it('issues certificates that verify with the signer key only, for the fields signed, until expiry', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const other = generateKeyPairSync('ed25519')
    const raw = (k: typeof publicKey) => new Uint8Array(Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url'))
    const verify = (pub: Uint8Array, bytes: Uint8Array, sig: Uint8Array) =>
      edVerify(null, bytes, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') }, format: 'jwk' }), sig)
    const c = issueOverlayCert({ app: 'app1', channel: 'room', uid: 'alice', pubkey: key32, expiry: 2000 }, (b) => new Uint8Array(edSign(null, b, privateKey)))
    expect(c.sig.length).toBe(64)
    expect(await verifyOverlayCert(c, raw(publicKey), 1000, verify)).toBe(true)
    expect(await verifyOverlayCert(c, raw(publicKey), 2000, verify)).toBe(false)
    expect(await verifyOverlayCert(c, raw(other.publicKey), 1000, verify)).toBe(false)
    expect(await verifyOverlayCert({ ...c, uid: 'mallory' }, raw(publicKey), 1000, verify)).toBe(false)
    expect(await verifyOverlayCert({ ...c, expiry: 3000 }, raw(publicKey), 1000, verify)).toBe(false)
    expect(await verifyOverlayCert({ ...c, pubkey: new Uint8Array(32).fill(4) }, raw(publicKey), 1000, verify)).toBe(false)
  })
})
