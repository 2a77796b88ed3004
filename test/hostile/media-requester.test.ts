/**
 * Requesters that ignore their window: raw clients ask a sender, through the relay, for its whole
 * 64 MiB file again and again. The sender serves through its socket only as fast as the socket
 * drains, so its memory stays bounded, and its own traffic goes on.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { FrameType, MediaFrameType, MediaPart, PeerMessageState, encodeMediaFrame } from '@plaza/protocol'
import { closeClients, loggedIn } from '../helpers/clients.js'
import { RawClient } from '../helpers/raw-client.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

const ATTACKERS = 5
const SECONDS = 6
/** The sender's RSS may grow this much while it is attacked (before the fix: hundreds of MB a second). */
const RSS_BOUND = 200 * 1024 * 1024

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous({ args: ['--rate-limit', 'channelRelay=1000000/1000'] })
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

it('requesters asking for 16 MiB at a time, endlessly, through the relay: the sender stays within 200 MB and keeps talking', async () => {
  const sender = await loggedIn(node, 'mr-sender', { directLinks: false })
  const friend = await loggedIn(node, 'mr-friend', { directLinks: false })
  const size = 64 * 1024 * 1024
  const msg = await sender.createMediaMessage(new Uint8Array(randomBytes(size)), { messageType: 'FILE', fileName: 'big.bin' })
  const attackers: RawClient[] = []
  for (let i = 0; i < ATTACKERS; i++) {
    const c = await RawClient.open(node.url)
    await c.login(`mr-attacker${i}`, await node.token(`mr-attacker${i}`))
    attackers.push(c)
  }
  global.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50)
  let reqId = 1
  const until = Date.now() + SECONDS * 1000
  while (Date.now() < until) {
    for (const c of attackers) {
      for (let k = 0; k < 10; k++) {
        const offset = ((reqId * 16) % 64) * 1024 * 1024
        const payload = encodeMediaFrame({ type: MediaFrameType.REQUEST, mediaId: msg.mediaId, reqId: reqId++, part: MediaPart.DATA, offset, length: 16 * 1024 * 1024 })
        c.send({ type: FrameType.RELAY_TO, reqId: 0, to: 'mr-sender', offline: false, payload })
      }
    }
    // The sender's own traffic goes on meanwhile.
    expect((await sender.sendMessageToPeer({ text: 'still here' }, 'mr-friend')).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
    await new Promise((r) => setTimeout(r, 200))
  }
  clearInterval(sample)
  for (const c of attackers) c.close()
  console.log(`sender RSS ${(before / 1e6).toFixed(0)} → peak ${(peak / 1e6).toFixed(0)} MB under ${ATTACKERS} requesters for ${SECONDS} s`)
  expect(peak - before).toBeLessThan(RSS_BOUND)
})
