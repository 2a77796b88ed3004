import { readFileSync } from 'node:fs'
import { PeerMessageState, type PlazaClient } from '@plaza/client'
import { loggedIn } from '../helpers/clients.js'
import type { RendezvousProcess } from '../helpers/rendezvous.js'

/** The node process's resident memory, MB. */
export function rssMb(node: RendezvousProcess): number {
  const status = readFileSync(`/proc/${node.proc.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

/** A metric's value from /metrics (summed over label sets matching `labels`). */
export async function metric(node: RendezvousProcess, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line)
    if (m && m[1] === name && (m[2] ?? '').includes(labels)) sum += Number(m[3])
  }
  return sum
}

/**
 * Two ordinary users exchanging peer messages through the node the whole time a flood runs:
 * `stop()` tells how many went and whether every one was received, in order, once.
 */
export async function bystanders(node: RendezvousProcess, prefix = 'bystander') {
  const a = await loggedIn(node, `${prefix}-a`, { directLinks: false })
  const b = await loggedIn(node, `${prefix}-b`, { directLinks: false })
  const got: string[] = []
  b.on('MessageFromPeer', (m) => got.push(m.messageType === 'TEXT' ? m.text : ''))
  const outcomes: string[] = []
  let running = true
  let n = 0
  const loop = (async () => {
    while (running) {
      const r = await a.sendMessageToPeer({ text: `m${n++}` }, b.uid)
      outcomes.push(r.state)
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  return {
    clients: [a, b] as PlazaClient[],
    /** Stops once at least `atLeast` messages went (a short flood still sees some traffic). */
    async stop(atLeast = 20) {
      while (n < atLeast) await new Promise((r) => setTimeout(r, 20))
      running = false
      await loop
      const deadline = Date.now() + 10_000
      while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      const inOrder = got.every((t, i) => t === `m${i}`)
      const received = outcomes.filter((s) => s === PeerMessageState.RECEIVED_BY_PEER).length
      return { sent: n, received, delivered: got.length, inOrder }
    },
  }
}
