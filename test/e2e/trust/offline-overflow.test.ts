import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PeerMessageState, type PlazaClient } from '@plaza/client'
import { closeClients, loggedIn, makeClient } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until, type EventSource } from '../../helpers/wait.js'
import { metric, textOf } from './util.js'

// Issue 9, item 1: a burst of more than 200 offline messages to one receiver (sent without
// awaiting each) must leave the receiver the newest 200, in order, each once, and tell it how
// many older ones the node's per-receiver cap dropped (OfflineMessagesDropped(sender, count)).
const DELIVERED = 'plaza_offline_messages_delivered_total'
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

async function burst(sender: PlazaClient, to: string, n: number): Promise<void> {
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => sender.sendMessageToPeer({ text: String(i) }, to, { enableOfflineMessaging: true })),
  )
  expect(results.map((r) => r.state)).toEqual(Array(n).fill(PeerMessageState.CACHED_BY_SERVER))
}

async function receiveBurst(tag: string, n: number): Promise<void> {
  const senderId = `${tag}-s`
  const receiverId = `${tag}-r`
  const sender = await loggedIn(node, senderId, { directLinks: false })
  await burst(sender, receiverId, n)

  const before = await metric(node, DELIVERED)
  const receiver = makeClient(node, { directLinks: false })
  const got: string[] = []
  const dropped: [string, number, number][] = []
  // Listen before logging in: stored messages (and the drop notice) come right after the login answer.
  receiver.on('MessageFromPeer', (m, from) => {
    if (from === senderId) got.push(textOf(m))
  })
  ;(receiver as unknown as EventSource).on('OfflineMessagesDropped', (peerId: string, count: number) => {
    // With how many of that sender's messages had arrived: the notice comes before them.
    dropped.push([peerId, count, got.length])
  })
  await receiver.login({ uid: receiverId, token: await node.token(receiverId) })

  // The node counts a message delivered once the receiver's client acknowledged it, which it
  // does after handing the batch to its inbox: once the node counts 200, the client is done.
  await until(async () => got.length >= 200 || (await metric(node, DELIVERED)) - before >= 200, 20_000, '200 acknowledged or received')
  await until(async () => (await metric(node, DELIVERED)) - before >= got.length, 5_000, 'the node to count what was received')

  const newest = Array.from({ length: 200 }, (_, i) => String(n - 200 + i))
  expect(got, 'the receiver gets exactly the newest 200, in order, each once').toEqual(newest)
  expect(dropped, 'the receiver is told how many older messages were dropped').toEqual([[senderId, n - 200, 0]])
  expect((await metric(node, DELIVERED)) - before, 'delivered_total counts what the receiver got').toBe(got.length)
}

describe('offline store overflow from a burst', () => {
  it('a burst of 250 leaves the receiver the newest 200 in order, and says 50 were dropped', async () => {
    await receiveBurst('oo250', 250)
  })

  it('a burst of 201 leaves the receiver the newest 200, and says 1 was dropped', async () => {
    await receiveBurst('oo201', 201)
  })
})
