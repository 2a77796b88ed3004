import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FrameType } from '@plaza/protocol'
import { closeClients } from '../helpers/clients.js'
import { RawClient, textFrame } from '../helpers/raw-client.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { bystanders, metric, rssMb } from './util.js'

// Clients that keep pinging but never read what the node sends them, while others flood them
// with relayed messages at the rate the node allows. Before the cap the node buffered all of it
// (5 such sessions: 72 → 803 MB in 60 s); now each socket holds at most --max-socket-buffer.
const VICTIMS = 5
const FLOOD_MS = 12_000
const BUFFER = 16 * 1024 * 1024 // the default
const DETACHED_QUEUE = 8 * 1024 * 1024

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

describe('a client that does not read', () => {
  it('is closed as a slow reader; node memory stays bounded and bystanders unaffected', async () => {
    const pair = await bystanders(node)
    const rssBefore = rssMb(node)
    const victims: RawClient[] = []
    const attackers: RawClient[] = []
    for (let i = 0; i < VICTIMS; i++) {
      const v = await RawClient.open(node.url)
      await v.login(`victim-${i}`, await node.token(`victim-${i}`))
      ;(v.ws as unknown as { _socket: Socket })._socket.pause()
      victims.push(v)
      const a = await RawClient.open(node.url)
      await a.login(`flooder-${i}`, await node.token(`flooder-${i}`))
      attackers.push(a)
    }
    const body = 'x'.repeat(30_000)
    let seq = 0
    let peak = rssBefore
    const t0 = Date.now()
    while (Date.now() - t0 < FLOOD_MS) {
      for (const v of victims) v.send({ type: FrameType.PING, ts: Date.now() })
      // The node's message budget: 1500 per 3 s per sender.
      for (let k = 0; k < 450; k++) {
        seq++
        attackers.forEach((a, i) => a.send({ type: FrameType.RELAY_TO, reqId: 0, to: `victim-${i}`, offline: false, payload: textFrame('flood', seq, 1, body) }))
      }
      await new Promise((r) => setTimeout(r, 1000))
      peak = Math.max(peak, rssMb(node))
    }
    const closed = await metric(node, 'plaza_slow_readers_closed_total')
    const result = await pair.stop()
    const rssAfter = rssMb(node)
    console.log(
      `${VICTIMS} non-reading sessions flooded for ${FLOOD_MS / 1000} s (${seq * VICTIMS} relayed frames of 30 KB offered): ` +
        `node RSS ${rssBefore.toFixed(0)} → peak ${peak.toFixed(0)} → ${rssAfter.toFixed(0)} MB; ${closed} closed as slow readers; ` +
        `bystanders ${result.received}/${result.sent} received, in order: ${result.inOrder}`,
    )
    expect(closed).toBe(VICTIMS)
    // Each victim costs at most its socket's cap plus its detached session's queue.
    expect(peak - rssBefore).toBeLessThan((VICTIMS * (BUFFER + DETACHED_QUEUE)) / 2 ** 20 + 64)
    expect(result.sent).toBeGreaterThanOrEqual(20)
    expect(result).toMatchObject({ received: result.sent, delivered: result.sent, inOrder: true })
    for (const c of [...victims, ...attackers]) c.ws.terminate()
  })
})
