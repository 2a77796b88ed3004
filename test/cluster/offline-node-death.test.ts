import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PeerMessageState, type PlazaClient, type SendResult } from '@plaza/client'
import { closeClients, makeClient } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { startCluster, type Cluster } from './cluster.js'

// 5000 offline messages from senders spread over three nodes; one node is killed (-9) while
// they are being stored. Every message acknowledged CACHED_BY_SERVER reaches its receiver once,
// in its sender's order, whichever node the receiver logs in on.
let cluster: Cluster
beforeAll(async () => {
  cluster = await startCluster(3, ['--rate-limit', 'messages=100000/1000'])
})
afterAll(() => cluster?.stop())
afterEach(() => closeClients())

const SENDERS = 5
const RECEIVERS = 50
const PER_SENDER = 1000

async function client(uid: string, first: number): Promise<PlazaClient> {
  const urls = [0, 1, 2].map((i) => cluster.nodes[(first + i) % 3].url)
  const c = makeClient(cluster.nodes[first], { rendezvousUrl: urls, directLinks: false, messageRateLimit: { count: 100_000, windowMs: 1000 }, messageTimeoutMs: 30_000 })
  await c.login({ uid, token: await cluster.nodes[first].token(uid) })
  return c
}

describe('kill -9 of a node while offline messages are stored through all three', () => {
  it('delivers every message acknowledged CACHED_BY_SERVER once, in order, at a login on any node', async () => {
    const senders = await Promise.all(Array.from({ length: SENDERS }, (_, i) => client(`on-s${i}`, i % 3)))
    const sends: { from: string; to: string; text: string; result: Promise<SendResult> }[] = []
    for (let k = 0; k < PER_SENDER; k++) {
      senders.forEach((c, i) => {
        const to = `on-r${(k + i) % RECEIVERS}`
        const text = `s${i}-${k}`
        sends.push({ from: `on-s${i}`, to, text, result: c.sendMessageToPeer({ text }, to, { enableOfflineMessaging: true }) })
      })
    }
    // Killed the moment the 1500th answer comes (SIGKILL goes out synchronously).
    let settled = 0
    let killed: Promise<void> | null = null
    for (const s of sends) {
      void s.result.then(() => {
        if (++settled === 1500) killed = cluster.nodes[0].kill()
      })
    }
    await until(() => killed !== null, 30_000, '1500 answered')
    await killed
    const results = await Promise.all(sends.map((s) => s.result))
    const tally: Record<string, number> = {}
    for (const r of results) tally[r.state] = (tally[r.state] ?? 0) + 1
    console.log(`5000 offline sends over three nodes, one killed at the 1500th answer: ${JSON.stringify(tally)}`)
    expect(results.every((r) => r.state === PeerMessageState.CACHED_BY_SERVER || r.state === PeerMessageState.SENT_TIMEOUT)).toBe(true)

    const expected = new Map<string, string[]>()
    sends.forEach((s, i) => {
      if (results[i].state !== PeerMessageState.CACHED_BY_SERVER) return
      expected.set(s.to, [...(expected.get(s.to) ?? []), `${s.from}:${s.text}`])
    })
    for (let r = 0; r < RECEIVERS; r++) {
      const uid = `on-r${r}`
      const got: string[] = []
      const c = makeClient(cluster.nodes[1 + (r % 2)], { directLinks: false })
      c.on('MessageFromPeer', (m, from) => got.push(`${from}:${m.messageType === 'TEXT' ? m.text : ''}`))
      await c.login({ uid, token: await cluster.nodes[1].token(uid) })
      const want = expected.get(uid) ?? []
      await until(() => got.length >= want.length, 10_000, `${uid}'s ${want.length} messages (got ${got.length})`)
      // Once each; each sender's in its order (the store may interleave senders).
      expect(new Set(got).size).toBe(got.length)
      for (let i = 0; i < SENDERS; i++) {
        const mine = (list: string[]) => list.filter((t) => t.startsWith(`on-s${i}:`))
        expect(mine(got).filter((t) => want.includes(t))).toEqual(mine(want))
      }
      await c.logout()
    }
  }, 180_000)
})
