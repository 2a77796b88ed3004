import { afterAll, afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { closeClients } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { bystanders, metric, rssMb } from './util.js'

interface Attempt {
  ws: WebSocket
  /** 'open', or the HTTP status the handshake was refused with. */
  outcome: Promise<'open' | number>
  closed: Promise<number>
}

/** A WebSocket from `localAddress` (any 127.x address reaches the node on 127.0.0.1) that never logs in. */
function attempt(node: RendezvousProcess, localAddress: string): Attempt {
  const ws = new WebSocket(node.url, { localAddress })
  const outcome = new Promise<'open' | number>((resolve) => {
    ws.once('open', () => resolve('open'))
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    ws.once('error', () => resolve(-1))
  })
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
  return { ws, outcome, closed }
}

function tally(outcomes: ('open' | number)[]) {
  const t: Record<string, number> = {}
  for (const o of outcomes) t[String(o)] = (t[String(o)] ?? 0) + 1
  return t
}

const nodes: RendezvousProcess[] = []
afterEach(async () => {
  await closeClients()
})
afterAll(async () => {
  for (const n of nodes) await stopRendezvous(n)
})

describe('connections that never log in', () => {
  it('one address gets at most its handshake budget, each closed at the login timeout; bystanders unaffected', async () => {
    const node = await startRendezvous()
    nodes.push(node)
    const pair = await bystanders(node)
    const rssBefore = rssMb(node)
    const tStart = Date.now()
    const attempts = Array.from({ length: 3000 }, () => attempt(node, '127.0.0.2'))
    const outcomes = await Promise.all(attempts.map((a) => a.outcome))
    // 300 at once, then 30 a second refill while the burst lasts.
    const budget = 300 + Math.ceil(((Date.now() - tStart) / 1000) * 30)
    const t = tally(outcomes)
    const rssHeld = rssMb(node)
    const opened = attempts.filter((_, i) => outcomes[i] === 'open')
    const t0 = Date.now()
    const codes = await Promise.all(opened.map((a) => a.closed))
    const heldMs = Date.now() - t0
    const result = await pair.stop()
    console.log(
      `3000 handshakes from one address: ${JSON.stringify(t)}; node RSS ${rssBefore.toFixed(0)} → ${rssHeld.toFixed(0)} MB while held; ` +
        `all closed ${heldMs} ms later with ${JSON.stringify(tally(codes))}; refused metric ${await metric(node, 'plaza_connections_refused_total', 'too-often')}; ` +
        `bystanders ${result.received}/${result.sent}`,
    )
    expect(t.open).toBeGreaterThanOrEqual(300)
    expect(t.open).toBeLessThanOrEqual(budget)
    // Refused with 429 (now and then the refusal is cut short and the client sees a reset).
    expect((t['429'] ?? 0) + (t['-1'] ?? 0)).toBe(3000 - t.open)
    expect(await metric(node, 'plaza_connections_refused_total', 'too-often')).toBe(3000 - t.open)
    expect(new Set(codes)).toEqual(new Set([4001]))
    expect(heldMs).toBeLessThan(10_000)
    expect(result.sent).toBeGreaterThanOrEqual(20)
    expect(result).toMatchObject({ received: result.sent, delivered: result.sent, inOrder: true })
  })

  it('are capped per address and in all (503), and a place is free again once a socket closes', async () => {
    const node = await startRendezvous({ args: ['--max-connections', '60', '--max-connections-per-address', '40'] })
    nodes.push(node)
    const first = Array.from({ length: 50 }, () => attempt(node, '127.0.0.3'))
    const firstOutcomes = await Promise.all(first.map((a) => a.outcome))
    expect(tally(firstOutcomes)).toEqual({ open: 40, 503: 10 })
    const second = Array.from({ length: 30 }, () => attempt(node, '127.0.0.4'))
    expect(tally(await Promise.all(second.map((a) => a.outcome)))).toEqual({ open: 20, 503: 10 })
    expect(await metric(node, 'plaza_connections_refused_total', 'address-full')).toBe(10)
    expect(await metric(node, 'plaza_connections_refused_total', 'node-full')).toBe(10)
    const one = first[firstOutcomes.indexOf('open')]
    one.ws.close()
    await one.closed
    // The node sees the close a moment after the client does.
    let again: 'open' | number = 0
    for (let i = 0; i < 50 && again !== 'open'; i++) {
      const a = attempt(node, '127.0.0.5')
      again = await a.outcome
      if (again !== 'open') await new Promise((r) => setTimeout(r, 20))
    }
    expect(again).toBe('open')
    for (const a of [...first, ...second]) a.ws.terminate()
  })
})
