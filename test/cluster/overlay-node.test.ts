import { createPublicKey, generateKeyPairSync, verify as edVerify } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  FrameType,
  MAX_OVERLAY_CANDIDATES,
  MessageKind,
  PROTOCOL_VERSION,
  PeerFrameType,
  decodePeerFrame,
  encodePeerFrame,
  verifyOverlayCert,
  type LoginOkFrame,
  type MembersFrame,
  type OverlayCandidatesResultFrame,
  type OverlayOutsideFrame,
  type ServerFrame,
} from '@plaza/protocol'
import { RawClient } from '../helpers/raw-client.js'
import { APP_ID, type RendezvousProcess } from '../helpers/rendezvous.js'
import { startCluster, type Cluster } from './cluster.js'

// Two nodes on one Redis: one certificate key for the app (derived from its secret, which every
// node has), and introductions across nodes.
let cluster: Cluster
const raws: RawClient[] = []
beforeAll(async () => {
  cluster = await startCluster(2)
})
afterAll(async () => {
  for (const r of raws) r.close()
  await cluster?.stop()
})

const ed25519Verify = (pub: Uint8Array, bytes: Uint8Array, sig: Uint8Array) =>
  edVerify(null, bytes, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') }, format: 'jwk' }), sig)
const overlayKey = () => new Uint8Array(Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url'))

async function login(node: RendezvousProcess, uid: string): Promise<{ raw: RawClient; ok: LoginOkFrame }> {
  const raw = await RawClient.open(node.url)
  raws.push(raw)
  raw.send({ type: FrameType.LOGIN, version: PROTOCOL_VERSION, appId: APP_ID, uid, token: await node.token(uid), resume: '' })
  const ok = await raw.next((f) => f.type === FrameType.LOGIN_OK)
  return { raw, ok: ok as LoginOkFrame }
}
async function ask(raw: RawClient, reqId: number, f: Parameters<RawClient['send']>[0]): Promise<ServerFrame> {
  raw.send(f)
  return raw.next((x) => 'reqId' in x && x.reqId === reqId)
}

describe('overlay certificates in a cluster', () => {
  it('every node has the same key; a certificate from one verifies with the key told by the other; candidates span nodes', async () => {
    const a = await login(cluster.nodes[0]!, 'ovc-a')
    const b = await login(cluster.nodes[1]!, 'ovc-b')
    expect(a.ok.nodeKey!.id).toBe(b.ok.nodeKey!.id)
    expect([...a.ok.nodeKey!.publicKey]).toEqual([...b.ok.nodeKey!.publicKey])

    const ja = (await ask(a.raw, 1, { type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'ovc-room', overlayKey: overlayKey() })) as MembersFrame
    expect(await verifyOverlayCert(ja.cert!, b.ok.nodeKey!.publicKey, Date.now(), ed25519Verify)).toBe(true)
    const jb = (await ask(b.raw, 1, { type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'ovc-room', overlayKey: overlayKey() })) as MembersFrame
    expect(jb.cert?.uid).toBe('ovc-b')

    // Node 1 knows ovc-a (on node 0) as a member, but holds no certificate of it.
    const fromB = (await ask(b.raw, 2, { type: FrameType.OVERLAY_CANDIDATES, reqId: 2, channel: 'ovc-room', max: MAX_OVERLAY_CANDIDATES })) as OverlayCandidatesResultFrame
    expect(fromB.candidates).toEqual([{ uid: 'ovc-a', cert: null }])
    const fromA = (await ask(a.raw, 2, { type: FrameType.OVERLAY_CANDIDATES, reqId: 2, channel: 'ovc-room', max: MAX_OVERLAY_CANDIDATES })) as OverlayCandidatesResultFrame
    expect(fromA.candidates).toEqual([{ uid: 'ovc-b', cert: null }])
  })

  it('counts members outside the overlay across nodes: a member on one hears of an outsider on the other and reaches it through the node', async () => {
    const room = 'ovc-out-room'
    const a = await login(cluster.nodes[0]!, 'ovc-out-a')
    const b = await login(cluster.nodes[1]!, 'ovc-out-b')
    expect(((await ask(a.raw, 1, { type: FrameType.JOIN_CHANNEL, reqId: 1, channel: room, overlayKey: overlayKey() })) as MembersFrame).type).toBe(FrameType.MEMBERS)
    const outsideAtA = () => a.raw.next((f) => f.type === FrameType.OVERLAY_OUTSIDE && f.channel === room) as Promise<OverlayOutsideFrame>
    const zero = await outsideAtA()
    expect(zero.count).toBe(0)
    expect((await ask(b.raw, 1, { type: FrameType.JOIN_CHANNEL, reqId: 1, channel: room })).type).toBe(FrameType.MEMBERS)
    const one = await outsideAtA()
    expect(one.count).toBe(1)
    expect(one.version).toBeGreaterThan(zero.version)
    const payload = encodePeerFrame({ type: PeerFrameType.MESSAGE, stream: '*ovc', channel: room, seq: 1, floor: 1, sentTs: Date.now(), kind: MessageKind.TEXT, text: 'across', bytes: new Uint8Array(0), description: '' })
    expect(await ask(a.raw, 3, { type: FrameType.OVERLAY_OUTSIDE_SEND, reqId: 3, channel: room, payload })).toMatchObject({ type: FrameType.RESULT, code: 0 })
    const got = await b.raw.next((f) => f.type === FrameType.RELAY_FROM)
    expect(got.type === FrameType.RELAY_FROM && [got.from, (decodePeerFrame(got.payload) as { text: string }).text]).toEqual(['ovc-out-a', 'across'])
    // Candidates on either node leave the outsider out.
    const fromA = (await ask(a.raw, 4, { type: FrameType.OVERLAY_CANDIDATES, reqId: 4, channel: room, max: MAX_OVERLAY_CANDIDATES })) as OverlayCandidatesResultFrame
    expect(fromA.candidates).toEqual([])
    expect((await ask(b.raw, 5, { type: FrameType.LEAVE_CHANNEL, reqId: 5, channel: room })).type).toBe(FrameType.RESULT)
    const none = await outsideAtA()
    expect(none.count).toBe(0)
    expect(none.version).toBeGreaterThan(one.version)
  })
})
