/**
 * Media in a channel: members that fetched a file serve it to the others, so later downloads
 * do not need the sender.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { type PlazaChannel, type PlazaClient } from '@plaza/client'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { nextChannelMedia, sha256Hex } from '../../helpers/media.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterEach(closeClients)
afterAll(() => stopRendezvous(node))


it('a file sent to a channel of four: once one member has it, the others fetch it with the sender gone', async () => {
  const uids = ['sw-a', 'sw-b', 'sw-c', 'sw-d']
  const clients: PlazaClient[] = []
  const channels: PlazaChannel[] = []
  for (const uid of uids) {
    const c = await loggedIn(node, uid)
    const ch = c.createChannel('swarm-room')
    await ch.join()
    clients.push(c)
    channels.push(ch)
  }
  const data = new Uint8Array(randomBytes(12 * 1024 * 1024 + 7))
  const msg = await clients[0].createMediaMessage(data, { messageType: 'FILE', fileName: 'slides.pdf', mimeType: 'application/pdf' })
  const arrivals = channels.slice(1).map(nextChannelMedia)
  await channels[0].sendMessage(msg)
  const [gotB, gotC, gotD] = await Promise.all(arrivals)
  const b = await clients[1].downloadMedia(gotB)
  expect(sha256Hex(new Uint8Array(await b.arrayBuffer()))).toBe(sha256Hex(data))
  // The sender stops serving: only member b has the file now.
  await clients[0].releaseMedia(msg.mediaId)
  await clients[0].logout()
  const [c, d] = await Promise.all([clients[2].downloadMedia(gotC), clients[3].downloadMedia(gotD)])
  expect(sha256Hex(new Uint8Array(await c.arrayBuffer()))).toBe(sha256Hex(data))
  expect(sha256Hex(new Uint8Array(await d.arrayBuffer()))).toBe(sha256Hex(data))
})
