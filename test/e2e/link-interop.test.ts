/**
 * The native link (RTCPeerConnection and one data channel, the default) and simple-peer speak the
 * same signaling: a client on either links with a client on the other, whichever side offers. And
 * a Node client's WebRTC may be node-datachannel's polyfill instead of @roamhq/wrtc (README: Node
 * clients facing untrusted users): it links with either.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PeerMessageState, createClient, createNativeLink, type CreateLink, type PlazaClient } from '@plaza/client'
import { createSimplePeerLink } from '@plaza/client/simple-peer'
import { MAX_MESSAGE_BYTES } from '@plaza/protocol'
import { closeClients, linkOpen } from '../helpers/clients.js'
import { APP_ID, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

let node: RendezvousProcess
const made: PlazaClient[] = []
beforeAll(async () => {
  node = await startRendezvous({ args: ['--link-policy', 'always'] })
})
afterAll(() => stopRendezvous(node))
afterEach(async () => {
  await Promise.all(made.splice(0).map((c) => c.logout().catch(() => undefined)))
  await closeClients()
})

const ndc = createRequire(import.meta.url)('node-datachannel/polyfill') as object

async function client(uid: string, createLink: CreateLink, wrtc?: object): Promise<PlazaClient> {
  // No STUN servers: none is reachable from here, and node-datachannel waits for them.
  const c = createClient(APP_ID, { rendezvousUrl: node.url, ...(wrtc ? { wrtc, rtcConfig: { iceServers: [] } } : {}) }, { createLink })
  made.push(c)
  await c.login({ uid, token: await node.token(uid) })
  return c
}

/** `a` offers (it sends first); then messages both ways, in order, over the open link. */
async function exchange(a: PlazaClient, aId: string, b: PlazaClient, bId: string): Promise<void> {
  const gotByB: string[] = []
  const gotByA: string[] = []
  b.on('MessageFromPeer', (m, from) => from === aId && m.messageType === 'TEXT' && gotByB.push(m.text))
  a.on('MessageFromPeer', (m, from) => from === bId && m.messageType === 'TEXT' && gotByA.push(m.text))
  expect((await a.sendMessageToPeer({ text: 'hello' }, bId)).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
  await Promise.all([linkOpen(a, bId), linkOpen(b, aId)])
  for (let i = 0; i < 20; i++) {
    const [r1, r2] = await Promise.all([a.sendMessageToPeer({ text: `a${i}` }, bId), b.sendMessageToPeer({ text: `b${i}` }, aId)])
    expect([r1.state, r1.path, r2.state, r2.path]).toEqual([PeerMessageState.RECEIVED_BY_PEER, 'direct', PeerMessageState.RECEIVED_BY_PEER, 'direct'])
  }
  // Binary too, the largest message.
  const raw = new Uint8Array(MAX_MESSAGE_BYTES).map((_, i) => i & 0xff)
  let gotRaw: Uint8Array | null = null
  b.on('MessageFromPeer', (m) => m.messageType === 'RAW' && (gotRaw = m.rawMessage))
  expect(await a.sendMessageToPeer({ messageType: 'RAW', rawMessage: raw }, bId)).toMatchObject({ state: PeerMessageState.RECEIVED_BY_PEER, path: 'direct' })
  expect(new Uint8Array(gotRaw!)).toEqual(raw)
  expect(gotByB).toEqual(['hello', ...Array.from({ length: 20 }, (_, i) => `a${i}`)])
  expect(gotByA).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`))
}

describe('native link and simple-peer on the same wire', () => {
  it('native offers, simple-peer answers', async () => {
    const a = await client('ni-a', createNativeLink)
    const b = await client('ni-b', createSimplePeerLink)
    await exchange(a, 'ni-a', b, 'ni-b')
  })

  it('simple-peer offers, native answers', async () => {
    const a = await client('sp-a', createSimplePeerLink)
    const b = await client('sp-b', createNativeLink)
    await exchange(a, 'sp-a', b, 'sp-b')
  })

  it('a link between the two closes on both sides when one logs out', async () => {
    const a = await client('cl-a', createNativeLink)
    const b = await client('cl-b', createSimplePeerLink)
    await a.sendMessageToPeer({ text: 'hi' }, 'cl-b')
    await Promise.all([linkOpen(a, 'cl-b'), linkOpen(b, 'cl-a')])
    await b.logout()
    const deadline = Date.now() + 10_000
    while (a.getPeerLinkState('cl-b') !== 'none' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(a.getPeerLinkState('cl-b')).toBe('none')
  })
})

describe('node-datachannel as the WebRTC of a Node client', () => {
  it('node-datachannel with node-datachannel', async () => {
    const a = await client('nd-a', createNativeLink, ndc)
    const b = await client('nd-b', createNativeLink, ndc)
    await exchange(a, 'nd-a', b, 'nd-b')
  })

  it('node-datachannel offers, @roamhq/wrtc answers', async () => {
    const a = await client('ndw-a', createNativeLink, ndc)
    const b = await client('ndw-b', createNativeLink)
    await exchange(a, 'ndw-a', b, 'ndw-b')
  })

  it('@roamhq/wrtc offers, node-datachannel answers', async () => {
    const a = await client('wnd-a', createNativeLink)
    const b = await client('wnd-b', createNativeLink, ndc)
    await exchange(a, 'wnd-a', b, 'wnd-b')
  })

  it('a file from a node-datachannel sender to an @roamhq/wrtc receiver over their link: SHA-256 equal', async () => {
    const a = await client('ndm-a', createNativeLink, ndc)
    const b = await client('ndm-b', createNativeLink)
    await a.sendMessageToPeer({ text: 'hello' }, 'ndm-b')
    await Promise.all([linkOpen(a, 'ndm-b'), linkOpen(b, 'ndm-a')])
    const data = new Uint8Array(randomBytes(8 * 1024 * 1024 + 7))
    const msg = await a.createMediaMessage(data, { messageType: 'FILE', fileName: 'x.bin' })
    expect(await a.sendMessageToPeer(msg, 'ndm-b')).toMatchObject({ state: PeerMessageState.RECEIVED_BY_PEER, path: 'direct' })
    const blob = await b.downloadMedia(msg.mediaId)
    expect(createHash('sha256').update(new Uint8Array(await blob.arrayBuffer())).digest('hex')).toBe(msg.sha256)
    expect(a.getPeerLinkState('ndm-b')).toBe('open')
  })
})
