/**
 * Media without a direct link: through the node's relay (both clients relay-only), and through
 * the node's media store for a receiver that is offline — across a kill -9 of the node.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { PeerMessageState, type MediaMessage, type ReceivedMessage } from '@plaza/client'
import { closeClients, loggedIn, makeClient } from '../../helpers/clients.js'
import { nextMedia, sha256Hex } from '../../helpers/media.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterEach(closeClients)
afterAll(() => stopRendezvous(node))


it('no direct link: the relay carries the file (16 KiB blocks), verified', async () => {
  const a = await loggedIn(node, 'rl-a', { directLinks: false })
  const b = await loggedIn(node, 'rl-b', { directLinks: false })
  const data = new Uint8Array(randomBytes(3 * 1024 * 1024 + 5))
  const msg = await a.createMediaMessage(data, { messageType: 'FILE', fileName: 'notes.txt', mimeType: 'text/plain' })
  const arrived = nextMedia(b)
  expect((await a.sendMessageToPeer(msg, 'rl-b')).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
  let last = 0
  const blob = await b.downloadMedia(await arrived, { onProgress: (p) => (last = p.loaded) })
  expect(sha256Hex(new Uint8Array(await blob.arrayBuffer()))).toBe(sha256Hex(data))
  expect(last).toBe(data.length)
  expect(a.getPeerLinkState('rl-b')).toBe('none')
})

it('to an offline receiver: the file goes to the node store before CACHED_BY_SERVER, survives kill -9 of the node, and is fetched from there with the sender gone', async () => {
  const a = await loggedIn(node, 'off-a')
  const data = new Uint8Array(randomBytes(6 * 1024 * 1024 + 11))
  const msg = await a.createMediaMessage(data, { messageType: 'IMAGE', fileName: 'map.png', mimeType: 'image/png', width: 10, height: 10 })
  const r = await a.sendMessageToPeer(msg, 'off-b', { enableOfflineMessaging: true })
  expect(r.state).toBe(PeerMessageState.CACHED_BY_SERVER)
  await a.logout()
  await node.kill()
  await node.restart()
  // Stored messages arrive right after login: the listener goes on before it.
  const b = makeClient(node)
  const got = new Promise<MediaMessage>((resolve) => {
    b.on('MessageFromPeer', (m: ReceivedMessage) => (m.messageType === 'IMAGE' ? resolve(m) : undefined))
  })
  await b.login({ uid: 'off-b', token: await node.token('off-b') })
  expect((await got).mediaId).toBe(msg.mediaId)
  const blob = await b.downloadMedia(await got)
  expect(sha256Hex(new Uint8Array(await blob.arrayBuffer()))).toBe(sha256Hex(data))
})

it('twenty files at once to an offline receiver: every one CACHED_BY_SERVER (the client uploads them one at a time; the node allows a user two at once)', async () => {
  const a = await loggedIn(node, 'burst-a')
  const files = Array.from({ length: 20 }, () => new Uint8Array(randomBytes(200 * 1024)))
  const msgs = await Promise.all(files.map((f, i) => a.createMediaMessage(f, { messageType: 'FILE', fileName: `photo${i}.jpg` })))
  const results = await Promise.all(msgs.map((m) => a.sendMessageToPeer(m, 'burst-b', { enableOfflineMessaging: true })))
  expect(results.map((r) => r.state)).toEqual(Array(20).fill(PeerMessageState.CACHED_BY_SERVER))
})

