import { createPublicKey, generateKeyPairSync, verify as edVerify } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FrameType, MAX_OVERLAY_CANDIDATES, PROTOCOL_VERSION, verifyOverlayCert, type LoginOkFrame, type MembersFrame, type OverlayCandidatesResultFrame, type ServerFrame } from '@plaza/protocol'
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
})
