import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent } from '../helpers/agents.js'
import { createLossyPair, ensureNftables, type LossyPair } from '../helpers/netns.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

// Two client processes in their own network namespaces, joined by a veth pair that drops a
// share of every packet in both directions; the rendezvous runs on host A. Each side sends
// 1000 peer messages at once. Every one must arrive exactly once and in order.
const COUNT = 1000
let pair: LossyPair
beforeAll(() => {
  ensureNftables()
  pair = createLossyPair(0)
})
afterAll(() => pair?.cleanup())

async function exchange(loss: number): Promise<void> {
  pair.setLoss(0)
  const node: RendezvousProcess = await startRendezvous({ host: pair.ipA, prefix: pair.exec(pair.nsA) })
  // A lossy network needs a longer send timeout than the 10 s default, or messages are given up.
  const options = { messageTimeoutMs: 240_000 }
  const a = await Agent.start(node, `la${loss}`, { prefix: pair.exec(pair.nsA), options })
  const b = await Agent.start(node, `lb${loss}`, { prefix: pair.exec(pair.nsB), options })
  try {
    pair.setLoss(loss)
    const t0 = Date.now()
    const [fromA, fromB] = await Promise.all([
      a.call<Record<string, number>>('sendPeer', { to: b.uid, count: COUNT, prefix: 'a' }, 300_000),
      b.call<Record<string, number>>('sendPeer', { to: a.uid, count: COUNT, prefix: 'b' }, 300_000),
    ])
    const elapsed = Date.now() - t0
    const got = (agent: Agent, from: string) => agent.events.filter((e) => e.event === 'peerMessage' && e.from === from).map((e) => e.text)
    await a.until((ev) => ev.filter((e) => e.event === 'peerMessage').length >= COUNT, 30_000, 'all of b')
    await b.until((ev) => ev.filter((e) => e.event === 'peerMessage').length >= COUNT, 30_000, 'all of a')
    expect(got(b, a.uid)).toEqual(Array.from({ length: COUNT }, (_, i) => `a${i}`))
    expect(got(a, b.uid)).toEqual(Array.from({ length: COUNT }, (_, i) => `b${i}`))
    const link = await a.call('linkState', { peer: b.uid })
    console.log(`${loss}% loss: ${COUNT} each way in ${(elapsed / 1000).toFixed(1)} s; a→b ${JSON.stringify(fromA)}; b→a ${JSON.stringify(fromB)}; link ${link}`)
    for (const tally of [fromA, fromB]) {
      expect(Object.keys(tally).every((k) => k.startsWith('RECEIVED_BY_PEER/'))).toBe(true)
    }
  } finally {
    pair.setLoss(0)
    await Promise.all([a.kill(), b.kill()])
    await stopRendezvous(node)
  }
}

describe('packet loss between two hosts', () => {
  it('delivers 1000 messages each way exactly once and in order at 10% loss', () => exchange(10), 300_000)
  it('delivers 1000 messages each way exactly once and in order at 30% loss', () => exchange(30), 300_000)
})
