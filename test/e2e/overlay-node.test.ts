import { createPublicKey, generateKeyPairSync, verify as edVerify } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ErrorCode,
  FrameType,
  MAX_OVERLAY_CANDIDATES,
  MessageKind,
  PeerFrameType,
  decodePeerFrame,
  encodePeerFrame,
  OVERLAY_CERT_TTL_MS,
  PROTOCOL_VERSION,
  encodeFrame,
  verifyOverlayCert,
  type LoginOkFrame,
  type MemberCert,
  type MembersFrame,
  type OverlayCandidatesResultFrame,
  type OverlayOutsideFrame,
  type ServerFrame,
} from '@plaza/protocol'
import { RawClient } from '../helpers/raw-client.js'
import { APP_ID, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

// The node's side of the channel overlay (issue 14, part 2): its certificate key in LOGIN_OK,
// certificates of members' overlay keys at join, and introductions (OVERLAY_CANDIDATES).
let node: RendezvousProcess
const raws: RawClient[] = []
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(async () => {
  for (const r of raws) r.close()
  await stopRendezvous(node)
})

const ed25519Verify = (pub: Uint8Array, bytes: Uint8Array, sig: Uint8Array) =>
  edVerify(null, bytes, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') }, format: 'jwk' }), sig)

function newOverlayKey(): Uint8Array {
  const { publicKey } = generateKeyPairSync('ed25519')
  return new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'))
}

async function login(uid: string, version = PROTOCOL_VERSION): Promise<{ raw: RawClient; ok: LoginOkFrame }> {
  const raw = await RawClient.open(node.url)
  raws.push(raw)
  raw.send({ type: FrameType.LOGIN, version, appId: APP_ID, uid, token: await node.token(uid), resume: '' })
  const ok = await raw.next((f) => f.type === FrameType.LOGIN_OK || f.type === FrameType.LOGIN_FAILED)
  if (ok.type !== FrameType.LOGIN_OK) throw new Error(`login of ${uid} failed`)
  return { raw, ok }
}

let reqIds = 100
/** The answer to a request: the frame, or the RESULT/ERROR code name. */
async function ask(raw: RawClient, frame: (reqId: number) => Parameters<RawClient['send']>[0]): Promise<ServerFrame> {
  const reqId = ++reqIds
  raw.send(frame(reqId))
  return raw.next((f) => 'reqId' in f && f.reqId === reqId)
}
const codeOf = (f: ServerFrame) => (f.type === FrameType.RESULT ? ErrorCode[f.code] : FrameType[f.type])

async function join(raw: RawClient, channel: string, overlayKey?: Uint8Array): Promise<ServerFrame> {
  return ask(raw, (reqId) => ({ type: FrameType.JOIN_CHANNEL, reqId, channel, ...(overlayKey ? { overlayKey } : {}) }))
}
async function candidates(raw: RawClient, channel: string, max: number): Promise<ServerFrame> {
  return ask(raw, (reqId) => ({ type: FrameType.OVERLAY_CANDIDATES, reqId, channel, max }))
}

describe('the node key in LOGIN_OK', () => {
  it('is an Ed25519 key with an id, told to protocol 4 sessions, the same after a restart; older sessions get the old frame', async () => {
    const { raw, ok } = await login('ov-key-a')
    expect(ok.nodeKey?.publicKey.length).toBe(32)
    expect(ok.nodeKey?.id).toMatch(/^[0-9a-f]{16}$/)
    const before = ok.nodeKey!
    const old = await login('ov-key-b', 3)
    expect(old.ok.nodeKey).toBeUndefined()
    expect(old.raw.wire[0]?.type).toBe(FrameType.LOGIN_OK)
    raw.close()
    old.raw.close()

    await node.stop()
    await node.restart()
    const again = await login('ov-key-c')
    expect(again.ok.nodeKey?.id).toBe(before.id)
    expect([...again.ok.nodeKey!.publicKey]).toEqual([...before.publicKey])
    // A version-2 session too can still log in and join.
    const v2 = await login('ov-key-d', 2)
    expect(codeOf(await join(v2.raw, 'ov-key-room'))).toBe('MEMBERS')
  })
})

describe('member certificates at join', () => {
  it('certifies the key sent with JOIN_CHANNEL: the node key verifies it, it names app, channel, uid and key, a re-join renews it', async () => {
    const { raw, ok } = await login('ov-cert-a')
    const key = newOverlayKey()
    const t0 = Date.now()
    const f = (await join(raw, 'ov-cert-room', key)) as MembersFrame
    expect(f.type).toBe(FrameType.MEMBERS)
    const cert = f.cert!
    expect(cert).toMatchObject({ app: APP_ID, channel: 'ov-cert-room', uid: 'ov-cert-a' })
    expect([...cert.pubkey]).toEqual([...key])
    expect(cert.expiry).toBeGreaterThanOrEqual(t0 + OVERLAY_CERT_TTL_MS)
    expect(cert.expiry).toBeLessThanOrEqual(Date.now() + OVERLAY_CERT_TTL_MS)
    expect(await verifyOverlayCert(cert, ok.nodeKey!.publicKey, Date.now(), ed25519Verify)).toBe(true)
    // Not for another uid, nor after expiry.
    expect(await verifyOverlayCert({ ...cert, uid: 'ov-cert-b' }, ok.nodeKey!.publicKey, Date.now(), ed25519Verify)).toBe(false)
    expect(await verifyOverlayCert(cert, ok.nodeKey!.publicKey, cert.expiry, ed25519Verify)).toBe(false)

    // A join without a key: the member list alone.
    const { raw: b } = await login('ov-cert-b')
    const plain = (await join(b, 'ov-cert-room')) as MembersFrame
    expect(plain.type).toBe(FrameType.MEMBERS)
    expect(plain.cert).toBeUndefined()
    const held = (await candidates(b, 'ov-cert-room', 5)) as OverlayCandidatesResultFrame
    expect(held.candidates.map((c) => c.uid)).toEqual(['ov-cert-a'])
    expect([...held.candidates[0]!.cert!.sig]).toEqual([...cert.sig])

    // Joining again (already a member) with a new key: a new certificate, and it replaces the old one.
    const key2 = newOverlayKey()
    const renewed = ((await join(raw, 'ov-cert-room', key2)) as MembersFrame).cert!
    expect([...renewed.pubkey]).toEqual([...key2])
    expect(renewed.expiry).toBeGreaterThanOrEqual(cert.expiry)
    expect(await verifyOverlayCert(renewed, ok.nodeKey!.publicKey, Date.now(), ed25519Verify)).toBe(true)
    const after = (await candidates(b, 'ov-cert-room', 5)) as OverlayCandidatesResultFrame
    expect([...after.candidates[0]!.cert!.pubkey]).toEqual([...key2])
  })

  it('refuses keys that are not 32 bytes with INVALID_ARGUMENT (not joining), keys from older sessions, and keeps serving', async () => {
    const { raw } = await login('ov-bad-a')
    for (const n of [0, 1, 31, 33, 64]) {
      expect(codeOf(await join(raw, 'ov-bad-room', new Uint8Array(n).fill(1))), `${n} bytes`).toBe('INVALID_ARGUMENT')
    }
    expect(codeOf(await ask(raw, (reqId) => ({ type: FrameType.GET_MEMBERS, reqId, channel: 'ov-bad-room' })))).toBe('NOT_IN_CHANNEL')
    // Past the field's cap the frame itself is refused (an ERROR, no reqId to answer).
    const frame = encodeFrame({ type: FrameType.JOIN_CHANNEL, reqId: 7, channel: 'ov-bad-room', overlayKey: new Uint8Array(65) })
    raw.send(frame)
    const err = await raw.next((f) => f.type === FrameType.ERROR)
    expect(err).toMatchObject({ code: ErrorCode.FRAME_TOO_LARGE })
    // A version-3 session has no certificates to read: its key is refused.
    const old = await login('ov-bad-b', 3)
    expect(codeOf(await join(old.raw, 'ov-bad-room', newOverlayKey()))).toBe('INVALID_ARGUMENT')
    // The node still serves both.
    expect(((await join(raw, 'ov-bad-room', newOverlayKey())) as MembersFrame).cert?.uid).toBe('ov-bad-a')
    expect(codeOf(await join(old.raw, 'ov-bad-room'))).toBe('MEMBERS')
  })
})

describe('overlay candidates', () => {
  it('answers members only with up to max random others in the overlay, never the asker nor members outside it, with the certificates the node holds', async () => {
    const room = 'ov-cand-room'
    const members: { uid: string; raw: RawClient; cert?: MemberCert }[] = []
    for (let i = 0; i < 13; i++) {
      const uid = `ov-cand-${i}`
      const { raw } = await login(uid)
      // Every other member joins with an overlay key.
      const f = (await join(raw, room, i % 2 === 0 ? newOverlayKey() : undefined)) as MembersFrame
      expect(f.type).toBe(FrameType.MEMBERS)
      members.push({ uid, raw, ...(f.cert ? { cert: f.cert } : {}) })
    }
    const asker = members[0]!
    // Those that joined without a key are outside the overlay: no candidates.
    const others = new Set(members.slice(1).filter((m) => m.cert).map((m) => m.uid))
    expect(others.size).toBe(6)

    const outsider = await login('ov-cand-outsider')
    expect(codeOf(await candidates(outsider.raw, room, 4))).toBe('NOT_IN_CHANNEL')

    const all = (await candidates(asker.raw, room, MAX_OVERLAY_CANDIDATES)) as OverlayCandidatesResultFrame
    expect(all.type).toBe(FrameType.OVERLAY_CANDIDATES_RESULT)
    expect(all.channel).toBe(room)
    expect(new Set(all.candidates.map((c) => c.uid))).toEqual(others)
    for (const c of all.candidates) expect([...c.cert!.sig]).toEqual([...members.find((x) => x.uid === c.uid)!.cert!.sig])

    const seen = new Set<string>()
    for (let round = 0; round < 8; round++) {
      const f = (await candidates(asker.raw, room, 3)) as OverlayCandidatesResultFrame
      const uids = f.candidates.map((c) => c.uid)
      expect(uids).toHaveLength(3)
      expect(new Set(uids).size).toBe(3)
      for (const u of uids) expect(others.has(u)).toBe(true)
      seen.add([...uids].sort().join(','))
    }
    // 20 possible triples: eight answers all alike would mean no randomness.
    expect(seen.size).toBeGreaterThan(1)

    // A member who left is no candidate any more.
    const leaver = members[2]!
    expect(codeOf(await ask(leaver.raw, (reqId) => ({ type: FrameType.LEAVE_CHANNEL, reqId, channel: room })))).toBe('OK')
    const after = (await candidates(asker.raw, room, MAX_OVERLAY_CANDIDATES)) as OverlayCandidatesResultFrame
    expect(after.candidates.map((c) => c.uid)).not.toContain(leaver.uid)
    expect(after.candidates).toHaveLength(others.size - 1)
  })

  it('refuses a count out of 1..32 (ERROR INVALID_ARGUMENT) and asking too often (TOO_OFTEN)', async () => {
    const { raw } = await login('ov-rate-a')
    await join(raw, 'ov-rate-room')
    for (const max of [0, MAX_OVERLAY_CANDIDATES + 1]) {
      raw.send(encodeFrame({ type: FrameType.OVERLAY_CANDIDATES, reqId: 9, channel: 'ov-rate-room', max }))
      expect(await raw.next((f) => f.type === FrameType.ERROR)).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT })
    }
    const codes: string[] = []
    for (let i = 0; i < 21; i++) codes.push(codeOf(await candidates(raw, 'ov-rate-room', 2)))
    // The default budget is 20 per 5 s.
    expect(codes.slice(0, 20).every((c) => c === 'OVERLAY_CANDIDATES_RESULT')).toBe(true)
    expect(codes[20]).toBe('TOO_OFTEN')
  })
})

describe('members outside the overlay', () => {
  const ROOM = 'ov-out-room'
  const message = (channel: string, seq: number, text: string, stream = '*out-stream') =>
    encodePeerFrame({ type: PeerFrameType.MESSAGE, stream, channel, seq, floor: seq, sentTs: Date.now(), kind: MessageKind.TEXT, text, bytes: new Uint8Array(0), description: '' })
  const outsideOf = (raw: RawClient) => raw.next((f) => f.type === FrameType.OVERLAY_OUTSIDE && f.channel === ROOM) as Promise<OverlayOutsideFrame>

  it('are counted by the node and told to the overlay members (before the member event); only they get the fallback copy', async () => {
    const a = (await login('ovo-a')).raw
    const c = (await login('ovo-c')).raw
    const b = (await login('ovo-b')).raw
    // A member that joins with a key hears the count before its member list.
    expect(codeOf(await join(a, ROOM, newOverlayKey()))).toBe('MEMBERS')
    const first = await outsideOf(a)
    expect(first.count).toBe(0)
    expect(a.wire.findIndex((f) => f.type === FrameType.OVERLAY_OUTSIDE)).toBeLessThan(a.wire.findIndex((f) => f.type === FrameType.MEMBERS))
    expect(codeOf(await join(c, ROOM, newOverlayKey()))).toBe('MEMBERS')
    await outsideOf(c)
    // B joins without a key: outside. A hears the count first, then the member event.
    expect(codeOf(await join(b, ROOM))).toBe('MEMBERS')
    const one = await outsideOf(a)
    expect(one.count).toBe(1)
    expect(one.version).toBeGreaterThan(first.version)
    const told = a.wire.indexOf(a.wire.find((f) => f.type === FrameType.OVERLAY_OUTSIDE && f.count === 1)!)
    const joined = a.wire.findIndex((f) => f.type === FrameType.MEMBER_EVENT && f.uid === 'ovo-b' && f.joined)
    expect(told).toBeGreaterThanOrEqual(0)
    expect(told).toBeLessThan(joined)
    expect(b.wire.some((f) => f.type === FrameType.OVERLAY_OUTSIDE)).toBe(false)
    // Candidates are overlay members only.
    const cands = (await candidates(a, ROOM, 32)) as OverlayCandidatesResultFrame
    expect(cands.candidates.map((x) => x.uid)).toEqual(['ovo-c'])

    // A's copy for the members outside: B gets it from A; C (in the overlay) does not.
    expect(codeOf(await ask(a, (reqId) => ({ type: FrameType.OVERLAY_OUTSIDE_SEND, reqId, channel: ROOM, payload: message(ROOM, 1, 'for-outside') })))).toBe('OK')
    const got = await b.next((f) => f.type === FrameType.RELAY_FROM)
    expect(got.type === FrameType.RELAY_FROM && got.from).toBe('ovo-a')
    expect(got.type === FrameType.RELAY_FROM && decodePeerFrame(got.payload)).toMatchObject({ type: PeerFrameType.MESSAGE, text: 'for-outside', stream: '*out-stream' })
    expect(codeOf(await ask(c, (reqId) => ({ type: FrameType.GET_MEMBERS, reqId, channel: ROOM })))).toBe('MEMBERS')
    expect(c.wire.some((f) => f.type === FrameType.RELAY_FROM)).toBe(false)

    // B joins again with a key: inside now; the count drops and the overlay members hear it.
    expect(codeOf(await join(b, ROOM, newOverlayKey()))).toBe('MEMBERS')
    expect((await outsideOf(a)).count).toBe(0)
    expect(codeOf(await ask(a, (reqId) => ({ type: FrameType.OVERLAY_OUTSIDE_SEND, reqId, channel: ROOM, payload: message(ROOM, 2, 'nobody') })))).toBe('OK')
    expect([(await outsideOf(c)).count, (await outsideOf(c)).count]).toEqual([1, 0])
    // A third switch within 5 s is refused as joins of one channel are (2 per 5 s): each costs a frame to every overlay member.
    expect(codeOf(await join(b, ROOM))).toBe('TOO_OFTEN')
    // Plain joins again (no switch) are only limited as all joins are.
    for (let i = 0; i < 5; i++) expect(codeOf(await join(b, ROOM, newOverlayKey()))).toBe('MEMBERS')
    expect(codeOf(await ask(b, (reqId) => ({ type: FrameType.LEAVE_CHANNEL, reqId, channel: ROOM })))).toBe('OK')
    expect(codeOf(await ask(c, (reqId) => ({ type: FrameType.GET_MEMBERS, reqId, channel: ROOM })))).toBe('MEMBERS')
    expect(c.wire.filter((f) => f.type === FrameType.OVERLAY_OUTSIDE)).toHaveLength(3)
    expect(b.wire.filter((f) => f.type === FrameType.RELAY_FROM).map((f) => f.type === FrameType.RELAY_FROM && decodePeerFrame(f.payload))).toMatchObject([{ text: 'for-outside' }])
  })

  it('tells versions that never go back, even across a restart of the node (a member keeps the highest it saw)', async () => {
    const room = 'ov-out-restart'
    const count = async (raw: RawClient) => (await raw.next((f) => f.type === FrameType.OVERLAY_OUTSIDE && f.channel === room)) as OverlayOutsideFrame
    const a = (await login('ovr-a')).raw
    expect(codeOf(await join(a, room, newOverlayKey()))).toBe('MEMBERS')
    await count(a)
    // Outside members come and go before the restart: the versions climb.
    let last = 0
    for (let i = 0; i < 3; i++) {
      const b = (await login(`ovr-b${i}`)).raw
      expect(codeOf(await join(b, room))).toBe('MEMBERS')
      expect(codeOf(await ask(b, (reqId) => ({ type: FrameType.LEAVE_CHANNEL, reqId, channel: room })))).toBe('OK')
      const [up, down] = [await count(a), await count(a)]
      expect([up.count, down.count]).toEqual([1, 0])
      expect(up.version).toBeGreaterThan(last)
      last = down.version
    }
    a.close()
    await node.stop()
    await node.restart()
    const a2 = (await login('ovr-a')).raw
    expect(codeOf(await join(a2, room, newOverlayKey()))).toBe('MEMBERS')
    await count(a2)
    const c = (await login('ovr-c')).raw
    expect(codeOf(await join(c, room))).toBe('MEMBERS')
    const after = await count(a2)
    expect(after.count).toBe(1)
    expect(after.version).toBeGreaterThan(last)
  })

  it('refuses a fallback copy from a non-member, on a stream that is not a broadcast stream, or for another channel, and keeps serving', async () => {
    const a = (await login('ovo-bad-a')).raw
    const b = (await login('ovo-bad-b')).raw
    expect(codeOf(await join(a, 'ov-out-bad', newOverlayKey()))).toBe('MEMBERS')
    expect(codeOf(await join(b, 'ov-out-bad'))).toBe('MEMBERS')
    const send = (payload: Uint8Array, channel = 'ov-out-bad') => ask(a, (reqId) => ({ type: FrameType.OVERLAY_OUTSIDE_SEND, reqId, channel, payload }))
    expect(codeOf(await send(message('ov-out-bad', 1, 'x', 'plain-stream')))).toBe('MALFORMED_FRAME')
    expect(codeOf(await send(message('elsewhere', 1, 'x')))).toBe('MALFORMED_FRAME')
    expect(codeOf(await send(new Uint8Array([1, 2, 3])))).toBe('MALFORMED_FRAME')
    // Sequence numbers a receiver refuses to read (seq 0, floor 0, floor past seq) are not passed on.
    for (const [seq, floor] of [[0, 0], [1, 0], [2, 3]] as const) {
      const bad = encodePeerFrame({ type: PeerFrameType.MESSAGE, stream: '*s', channel: 'ov-out-bad', seq, floor, sentTs: 1, kind: MessageKind.TEXT, text: 'x', bytes: new Uint8Array(0), description: '' })
      expect(codeOf(await send(bad)), `seq ${seq} floor ${floor}`).toBe('MALFORMED_FRAME')
    }
    expect(codeOf(await send(message('not-joined', 1, 'x'), 'not-joined'))).toBe('NOT_IN_CHANNEL')
    expect(codeOf(await send(message('ov-out-bad', 1, 'fine')))).toBe('OK')
    const got = await b.next((f) => f.type === FrameType.RELAY_FROM)
    expect(got.type === FrameType.RELAY_FROM && decodePeerFrame(got.payload)).toMatchObject({ text: 'fine' })
    expect(b.wire.filter((f) => f.type === FrameType.RELAY_FROM)).toHaveLength(1)
  })
})
