import { afterAll, describe, expect, it } from 'vitest'
import { PeerMessageState, type PlazaClient, type SendResult } from '@plaza/client'
import { closeClients, loggedIn, makeClient } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { until } from '../helpers/wait.js'

// 15,000 offline messages to 100 receivers (150 each, under the 200 kept per receiver), with the
// rendezvous killed (SIGKILL) in the middle. Every message whose sender heard CACHED_BY_SERVER
// must reach its receiver after the restart, and none twice. (With 5000 the node had stored them
// all before the client read its 1500th answer: the kill came too late to test anything.)
const RECEIVERS = 100
const PER_RECEIVER = 150
let node: RendezvousProcess

afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

describe('kill -9 of the rendezvous while offline messages are being stored', () => {
  it('delivers every message acknowledged CACHED_BY_SERVER after the restart, none twice', async () => {
    node = await startRendezvous({ args: ['--rate-limit', 'messages=100000/1000', '--offline-quota-sender', '100000/1000000000'] })
    const sender = await loggedIn(node, 'oc-sender', { directLinks: false, messageRateLimit: { count: 100_000, windowMs: 1000 }, messageTimeoutMs: 20_000 })
    const cached = new Set<string>()
    const sends: Promise<SendResult>[] = []
    let killed = false
    let killing: Promise<void> | null = null
    for (let i = 0; i < PER_RECEIVER; i++) {
      for (let r = 0; r < RECEIVERS; r++) {
        const text = `r${r}:${i}`
        const p = sender.sendMessageToPeer({ text }, `oc-r${r}`, { enableOfflineMessaging: true })
        p.then((res) => {
          if (res.state === PeerMessageState.CACHED_BY_SERVER) cached.add(text)
          // Killed from here, the moment a good part is stored: a poll may come too late (the
          // whole burst can be stored within one poll interval).
          if (cached.size >= 1000 && !killing) killing = node.kill()
        })
        sends.push(p)
      }
    }
    // Kill the node once a good part is stored, while the rest is still on its way.
    await until(() => killing !== null, 60_000, '1000 stored')
    const atKill = cached.size
    await killing
    killed = true
    await node.restart()
    const results = await Promise.all(sends)
    const states = new Map<string, number>()
    for (const r of results) states.set(r.state, (states.get(r.state) ?? 0) + 1)
    console.log(`stored before the kill: ${atKill}; final states: ${JSON.stringify(Object.fromEntries(states))}`)
    expect(killed).toBe(true)
    expect(atKill).toBeLessThan(RECEIVERS * PER_RECEIVER)

    const received = new Map<string, number>()
    const receivers: PlazaClient[] = []
    const order = new Map<string, number[]>()
    for (let r = 0; r < RECEIVERS; r++) {
      // Listen before logging in: stored messages arrive right after the login answer.
      const c = makeClient(node, { directLinks: false })
      c.on('MessageFromPeer', (m) => {
        const t = m.messageType === 'TEXT' ? m.text : ''
        received.set(t, (received.get(t) ?? 0) + 1)
        const [rid, i] = t.split(':')
        order.set(rid, [...(order.get(rid) ?? []), Number(i)])
      })
      await c.login({ uid: `oc-r${r}`, token: await node.token(`oc-r${r}`) })
      receivers.push(c)
    }
    await until(() => [...cached].every((t) => received.has(t)), 60_000, 'every cached message')
    const missing = [...cached].filter((t) => !received.has(t))
    const twice = [...received].filter(([, n]) => n > 1)
    expect(missing).toEqual([])
    expect(twice).toEqual([])
    // Each receiver got its messages in the order they were sent.
    for (const seq of order.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b))
  }, 180_000)
})
