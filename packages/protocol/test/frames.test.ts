import { describe, expect, it } from 'vitest'
import {
  AttributeOp,
  InvitationEventKind,
  InvitationFailureReason,
  SyncKind,
  ErrorCode,
  FrameType,
  ModerationAction,
  MessageKind,
  PeerFrameType,
  PeerOnlineState,
  ProtocolError,
  RelayStatus,
  decodeClientFrame,
  decodeFrame,
  decodePeerFrame,
  decodeServerFrame,
  encodeFrame,
  peekRequestId,
  encodePeerFrame,
  type Frame,
  type PeerFrame,
} from '../src/index.js'

const roundTrip = (f: Frame) => expect(decodeFrame(encodeFrame(f))).toEqual(f)
const bytes = (...b: number[]) => new Uint8Array(b)

function codeOf(fn: () => unknown): ErrorCode | null {
  try {
    fn()
    return null
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError)
    return (err as ProtocolError).code
  }
}

describe('frames', () => {
  it('round-trips every frame type', () => {
    const frames: Frame[] = [
      { type: FrameType.LOGIN, version: 2, appId: 'app', uid: 'alice', token: 'v1.a.b', resume: '' },
      { type: FrameType.LOGOUT, reqId: 7 },
      { type: FrameType.PING, ts: Date.now() },
      { type: FrameType.RENEW_TOKEN, reqId: 1, token: 't' },
      { type: FrameType.QUERY_PRESENCE, reqId: 2, uids: ['a', 'b'] },
      { type: FrameType.SUBSCRIBE_PRESENCE, reqId: 3, uids: ['a'] },
      { type: FrameType.UNSUBSCRIBE_PRESENCE, reqId: 4, uids: ['a'] },
      { type: FrameType.SIGNAL_TO, to: 'bob', data: '{"x":1}' },
      { type: FrameType.RELAY_TO, reqId: 5, to: 'bob', offline: true, payload: bytes(1, 2, 3) },
      { type: FrameType.OFFLINE_ACK, ids: [1, 2, 2 ** 40] },
      { type: FrameType.LOGIN_OK, sessionId: 's', resumed: true, resync: true, serverTs: 1, pingIntervalMs: 2000, tokenExpiresAt: 9 },
      { type: FrameType.LOGIN_FAILED, code: ErrorCode.INVALID_TOKEN, message: 'no' },
      { type: FrameType.PONG, ts: 1, serverTs: 2 },
      { type: FrameType.RESULT, reqId: 9, code: ErrorCode.TOO_OFTEN, message: 'slow down' },
      {
        type: FrameType.PRESENCE_STATES,
        reqId: 0,
        states: [
          { uid: 'a', state: PeerOnlineState.UNREACHABLE },
          { uid: 'b', state: PeerOnlineState.OFFLINE },
        ],
      },
      { type: FrameType.SIGNAL_FROM, from: 'a', data: 'x' },
      { type: FrameType.SIGNAL_FAILED, to: 'a', code: ErrorCode.PEER_OFFLINE },
      { type: FrameType.RELAY_FROM, from: 'a', serverTs: 5, payload: bytes(9) },
      { type: FrameType.RELAY_RESULT, reqId: 3, status: RelayStatus.STORED, serverTs: 5 },
      {
        type: FrameType.OFFLINE_MESSAGES,
        messages: [{ id: 1, from: 'a', serverTs: 2, payload: bytes(1) }],
        dropped: [{ from: 'b', stream: 's.1', ranges: [[1, 50], [60, 60]], count: 51 }],
      },
      { type: FrameType.KICKED, code: ErrorCode.REMOTE_LOGIN, message: '' },
      { type: FrameType.TOKEN_WILL_EXPIRE, expiresAt: 123 },
      { type: FrameType.ERROR, code: ErrorCode.MALFORMED_FRAME, message: 'bad' },
      { type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'room' },
      { type: FrameType.LEAVE_CHANNEL, reqId: 1, channel: 'room' },
      { type: FrameType.GET_MEMBERS, reqId: 1, channel: 'room' },
      { type: FrameType.GET_MEMBER_COUNTS, reqId: 1, channels: ['a', 'b'] },
      { type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 3, channel: 'room', epoch: 77, kind: SyncKind.DOC, notify: true, payload: bytes(0, 1) },
      { type: FrameType.CHANNEL_BROADCAST, reqId: 4, channel: 'room', payload: bytes(1, 2) },
      { type: FrameType.INVITE_SYNC, reqId: 5, outgoing: ['inv1'], incoming: [{ caller: 'a', id: 'inv2' }] },
      { type: FrameType.MODERATE, reqId: 6, channel: 'room', uid: 'bo', action: ModerationAction.MUTE, seconds: 600 },
      { type: FrameType.MEMBER_STATE, channel: 'room', uid: 'ada', role: 'teacher', muted: false, mayPublish: true },
      {
        type: FrameType.INVITE_SYNC_RESULT,
        reqId: 5,
        entries: [
          { peer: 'b', id: 'inv1', outgoing: true, known: true, event: InvitationEventKind.ACCEPTED, reason: null, response: 'yes' },
          { peer: 'a', id: 'inv2', outgoing: false, known: false, event: null, reason: null, response: '' },
        ],
      },
      { type: FrameType.CHANNEL_ATTRS_WRITE, reqId: 1, channel: 'room', op: AttributeOp.ADD_OR_UPDATE, attrs: [['k', 'v']], keys: [], notify: true },
      { type: FrameType.CHANNEL_ATTRS_GET, reqId: 1, channel: 'room', keys: ['k'] },
      { type: FrameType.USER_ATTRS_WRITE, reqId: 1, op: AttributeOp.DELETE_KEYS, attrs: [], keys: ['k'] },
      { type: FrameType.USER_ATTRS_GET, reqId: 1, uid: 'a', keys: [] },
      { type: FrameType.USER_ATTRS_SUBSCRIBE, reqId: 1, uids: ['a'] },
      { type: FrameType.USER_ATTRS_UNSUBSCRIBE, reqId: 1, uids: ['a'] },
      { type: FrameType.MEMBERS, reqId: 1, channel: 'room', count: 3, members: ['a', 'b', 'c'] },
      { type: FrameType.MEMBER_COUNTS, reqId: 1, counts: [{ channel: 'room', count: 0 }] },
      { type: FrameType.MEMBER_EVENT, channel: 'room', uid: 'a', joined: false, count: 4 },
      { type: FrameType.MEMBER_COUNT_UPDATED, channel: 'room', count: 7 },
      { type: FrameType.CHANNEL_SYNC_FROM_NODE, channel: 'room', from: '', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload: bytes(9) },
      { type: FrameType.ATTRIBUTES, reqId: 1, attrs: [{ key: 'k', value: 'v', lastUpdateUserId: 'a', lastUpdateTs: 5 }] },
      { type: FrameType.USER_ATTRS_CHANGED, uid: 'a', attrs: [] },
      { type: FrameType.INVITE_SEND, reqId: 1, id: 'inv1', callee: 'b', content: 'call me', channel: '' },
      { type: FrameType.INVITE_CANCEL, reqId: 2, id: 'inv1' },
      { type: FrameType.INVITE_ACK, caller: 'a', id: 'inv1' },
      { type: FrameType.INVITE_ANSWER, reqId: 3, caller: 'a', id: 'inv1', accept: true, response: 'ok' },
      { type: FrameType.INVITE_RECEIVED, caller: 'a', id: 'inv1', content: 'call me', channel: 'room' },
      { type: FrameType.INVITE_EVENT, peer: 'b', id: 'inv1', outgoing: true, event: InvitationEventKind.FAILURE, reason: InvitationFailureReason.PEER_NO_RESPONSE, response: '' },
      { type: FrameType.INVITE_EVENT, peer: 'b', id: 'inv1', outgoing: false, event: InvitationEventKind.ACCEPTED, reason: null, response: 'yes' },
      { type: FrameType.BATCH, frames: [bytes(3), bytes(0), bytes(40)] },
      { type: FrameType.RELAYED, serverTs: 77, reqIds: [3, 4, 9, 300, 70000] },
      // Overlay (protocol 4); their optional fields: overlay-node-frames.test.ts.
      { type: FrameType.OVERLAY_CANDIDATES, reqId: 5, channel: 'room', max: 6 },
      { type: FrameType.OVERLAY_CANDIDATES_RESULT, reqId: 5, channel: 'room', candidates: [{ uid: 'b', cert: null }] },
      { type: FrameType.OVERLAY_OUTSIDE_SEND, reqId: 6, channel: 'room', payload: bytes(9) },
      { type: FrameType.OVERLAY_OUTSIDE, channel: 'room', count: 2, version: 40 },
    ]
    for (const f of frames) roundTrip(f)
    expect(new Set(frames.map((f) => f.type)).size).toBe(Object.keys(FrameType).length / 2)
  })

  it('refuses malformed input with a code, never reading past the end', () => {
    const login = encodeFrame({ type: FrameType.LOGIN, version: 1, appId: 'app', uid: 'alice', token: 't', resume: '' })
    const table: [string, Uint8Array, ErrorCode][] = [
      ['empty', bytes(), ErrorCode.MALFORMED_FRAME],
      ['unknown tag', bytes(99), ErrorCode.UNKNOWN_FRAME],
      ['truncated', login.slice(0, login.length - 1), ErrorCode.MALFORMED_FRAME],
      ['trailing bytes', new Uint8Array([...login, 0]), ErrorCode.MALFORMED_FRAME],
      ['endless varuint', bytes(3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), ErrorCode.MALFORMED_FRAME],
      ['length past the end', bytes(FrameType.SIGNAL_TO, 10, 97), ErrorCode.MALFORMED_FRAME],
      ['field over its cap', bytes(FrameType.SIGNAL_TO, 100, 97), ErrorCode.FRAME_TOO_LARGE],
      ['bad boolean', encodeFrame({ type: FrameType.RELAY_TO, reqId: 1, to: 'b', offline: false, payload: bytes() }).map((b, i) => (i === 4 ? 7 : b)), ErrorCode.MALFORMED_FRAME],
      ['invalid utf-8', bytes(FrameType.SIGNAL_TO, 1, 0xff, 0), ErrorCode.MALFORMED_FRAME],
      ['empty uid', bytes(FrameType.SIGNAL_TO, 0, 0), ErrorCode.INVALID_USER_ID],
      ['unprintable uid', bytes(FrameType.SIGNAL_TO, 1, 7, 0), ErrorCode.INVALID_USER_ID],
      ['too many ids', bytes(FrameType.QUERY_PRESENCE, 1, 0x81, 0x04), ErrorCode.TOO_MANY_IDS],
      ['unknown error code', bytes(FrameType.ERROR, 0x7f, 0), ErrorCode.MALFORMED_FRAME],
    ]
    for (const [name, input, code] of table) expect([name, codeOf(() => decodeFrame(input))]).toEqual([name, code])
  })

  it('refuses a relay payload above the peer frame limit with FRAME_TOO_LARGE', () => {
    const f = encodeFrame({ type: FrameType.RELAY_TO, reqId: 1, to: 'b', offline: false, payload: new Uint8Array(40_000) })
    expect(codeOf(() => decodeFrame(f))).toBe(ErrorCode.FRAME_TOO_LARGE)
  })

  it('reads the reqId of an answer it cannot decode, and 0 for anything else', () => {
    const answer = encodeFrame({ type: FrameType.ATTRIBUTES, reqId: 41, attrs: [{ key: 'k'.repeat(200), value: 'v', lastUpdateUserId: 'a', lastUpdateTs: 1 }] })
    expect(codeOf(() => decodeFrame(answer))).toBe(ErrorCode.FRAME_TOO_LARGE)
    expect(peekRequestId(answer)).toBe(41)
    expect(peekRequestId(encodeFrame({ type: FrameType.RESULT, reqId: 7, code: ErrorCode.OK, message: '' }))).toBe(7)
    expect(peekRequestId(encodeFrame({ type: FrameType.PONG, ts: 1, serverTs: 1 }))).toBe(0)
    expect(peekRequestId(bytes())).toBe(0)
    expect(peekRequestId(bytes(FrameType.RESULT, 0xff))).toBe(0)
  })

  it('refuses sequence ranges that start at 0 or overflow', () => {
    const ack = (first: number, span: number) => bytes(PeerFrameType.ACK, 1, 115, 5, 1, first, span, 1)
    expect(decodePeerFrame(ack(2, 3))).toEqual({ type: PeerFrameType.ACK, stream: 's', upTo: 5, missing: [[2, 5]], known: 1 })
    expect(codeOf(() => decodePeerFrame(ack(0, 3)))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(codeOf(() => decodePeerFrame(bytes(PeerFrameType.ACK, 1, 115, 5, 17)))).toBe(ErrorCode.TOO_MANY_IDS)
  })

  it('tells client frames from server frames', () => {
    const pong = encodeFrame({ type: FrameType.PONG, ts: 1, serverTs: 1 })
    const ping = encodeFrame({ type: FrameType.PING, ts: 1 })
    expect(codeOf(() => decodeClientFrame(pong))).toBe(ErrorCode.UNEXPECTED_FRAME)
    expect(codeOf(() => decodeServerFrame(ping))).toBe(ErrorCode.UNEXPECTED_FRAME)
    expect(decodeClientFrame(ping).type).toBe(FrameType.PING)
  })
})

describe('peer frames', () => {
  it('round-trips text, raw and ack frames', () => {
    const frames: PeerFrame[] = [
      { type: PeerFrameType.MESSAGE, stream: 's.0', channel: '', seq: 3, floor: 2, sentTs: 10, kind: MessageKind.TEXT, text: 'héllo', bytes: new Uint8Array(0), description: '', after: null },
      { type: PeerFrameType.MESSAGE, stream: 's.0', channel: 'room', seq: 1, floor: 1, sentTs: 10, kind: MessageKind.RAW, text: '', bytes: bytes(0, 255), description: 'd', after: null },
      { type: PeerFrameType.MESSAGE, stream: 's.0', channel: 'room', seq: 4, floor: 1, sentTs: 10, kind: MessageKind.TEXT, text: 'x', bytes: new Uint8Array(0), description: '', after: { stream: 'ov1', seq: 77 } },
      { type: PeerFrameType.ACK, stream: 's.0', upTo: 5, missing: [], known: 1 },
      { type: PeerFrameType.ACK, stream: 's.0', upTo: 90, missing: [[3, 3], [10, 20]], known: 2 },
      { type: PeerFrameType.SYNC, channel: 'room', epoch: 9, kind: SyncKind.DOC, notify: true, payload: bytes(1, 2) },
    ]
    for (const f of frames) expect(decodePeerFrame(encodePeerFrame(f))).toEqual(f)
  })

  it('refuses a floor above the seq, seq 0, unknown kinds and oversize bodies', () => {
    const base = { type: PeerFrameType.MESSAGE, stream: 's', channel: '', sentTs: 1, text: 'x', bytes: new Uint8Array(0), description: '' } as const
    expect(codeOf(() => decodePeerFrame(encodePeerFrame({ ...base, seq: 1, floor: 2, kind: MessageKind.TEXT })))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(codeOf(() => decodePeerFrame(encodePeerFrame({ ...base, seq: 0, floor: 0, kind: MessageKind.TEXT })))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(codeOf(() => decodePeerFrame(encodePeerFrame({ ...base, seq: 1, floor: 1, kind: 9 as MessageKind })))).toBe(ErrorCode.MALFORMED_FRAME)
    const big = encodePeerFrame({ ...base, seq: 1, floor: 1, kind: MessageKind.TEXT, text: 'x'.repeat(32 * 1024 + 1) })
    expect(codeOf(() => decodePeerFrame(big))).toBe(ErrorCode.FRAME_TOO_LARGE)
    expect(codeOf(() => decodePeerFrame(bytes(7, 1, 97)))).toBe(ErrorCode.UNKNOWN_FRAME)
    // An overlay reference: on channel messages only, naming a stream and a seq ≥ 1.
    const peer = encodePeerFrame({ ...base, seq: 1, floor: 1, kind: MessageKind.TEXT })
    expect(codeOf(() => decodePeerFrame(new Uint8Array([...peer, 1, 97, 1])))).toBe(ErrorCode.MALFORMED_FRAME)
    const inRoom = { ...base, channel: 'room', seq: 1, floor: 1, kind: MessageKind.TEXT }
    expect(codeOf(() => decodePeerFrame(encodePeerFrame({ ...inRoom, after: { stream: 'ov', seq: 0 } })))).toBe(ErrorCode.MALFORMED_FRAME)
    expect(codeOf(() => decodePeerFrame(encodePeerFrame({ ...inRoom, after: { stream: '', seq: 3 } })))).toBe(ErrorCode.MALFORMED_FRAME)
  })

  it('survives 20k random and mutated inputs with only ProtocolErrors', () => {
    let seed = 12345
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
    const valid = encodeFrame({ type: FrameType.RELAY_TO, reqId: 5, to: 'bob', offline: true, payload: bytes(1, 2, 3) })
    for (let i = 0; i < 20_000; i++) {
      const input = i % 2 ? valid.map((b) => (rand() < 0.1 ? Math.floor(rand() * 256) : b)) : Uint8Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256))
      for (const decode of [decodeFrame, decodePeerFrame]) {
        try {
          decode(input)
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw new Error(`seed ${i}: ${String(err)}`)
        }
      }
    }
  })
})
