import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ClientOptions, PlazaChannel, PlazaClient, ReceivedMessage } from '@plaza/client'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until } from '../../helpers/wait.js'

// The client's side of the channel overlay (issue 14): above the threshold a channel's messages go
// member to member over direct links, signed, each delivered once and in order, none through the node.
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

const THRESHOLD = 8

async function relayedChannelMessages(): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith('plaza_messages_relayed_total{kind="channel"}'))
  return line ? Number(line.split(' ')[1]) : 0
}

async function members(prefix: string, n: number, room: string, opts: Partial<ClientOptions> = {}): Promise<{ clients: PlazaClient[]; channels: PlazaChannel[]; got: Map<string, string[]>[] }> {
  const clients = await Promise.all(Array.from({ length: n }, (_, i) => loggedIn(node, `${prefix}-${i}`, { overlayThreshold: THRESHOLD, ...opts })))
  const channels = clients.map((c) => c.createChannel(room))
  // Per receiver: per sender, the texts in arrival order.
  const got = channels.map((ch) => {
    const bySender = new Map<string, string[]>()
    ch.on('ChannelMessage', (m: ReceivedMessage, from: string) => {
      bySender.set(from, [...(bySender.get(from) ?? []), m.messageType === 'TEXT' ? m.text : '?'])
    })
    return bySender
  })
  for (const ch of channels) await ch.join()
  return { clients, channels, got }
}

describe('channel overlay over real WebRTC links', () => {
  it('above the threshold every member gets every message once and in its sender’s order, none through the node', async () => {
    const n = 10
    const { channels, got } = await members('ov', n, 'ov-room')
    const t0 = Date.now()
    await until(() => channels.every((ch) => ch.overlayLinks.length >= 2), 30_000, 'overlay links')
    console.log(`overlay links formed in ${Date.now() - t0} ms: ${channels.map((ch) => ch.overlayLinks.length).join(' ')}`)
    const t1 = Date.now()
    const relayedBefore = await relayedChannelMessages()
    const per = 5
    const results = await Promise.all(channels.flatMap((ch, i) => Array.from({ length: per }, (_, k) => ch.sendMessage({ text: `m ${i} ${k}` }))))
    // No per-member confirmation in an overlay: every copy is reported unconfirmed, none claimed received.
    for (const r of results) expect(r).toEqual({ members: n - 1, received: 0, failures: [], unconfirmed: n - 1 })
    await until(() => got.every((bySender) => [...bySender.values()].reduce((s, l) => s + l.length, 0) >= (n - 1) * per), 60_000, 'every message at every member')
    console.log(`${n * per} messages to ${n - 1} members each in ${Date.now() - t1} ms`)
    got.forEach((bySender, r) => {
      expect(bySender.has(`ov-${r}`)).toBe(false) // not its own
      for (let s = 0; s < n; s++) {
        if (s === r) continue
        expect(bySender.get(`ov-${s}`)).toEqual(Array.from({ length: per }, (_, k) => `m ${s} ${k}`))
      }
    })
    expect(await relayedChannelMessages()).toBe(relayedBefore)
    // Links stay bounded by D_high.
    for (const ch of channels) expect(ch.overlayLinks.length).toBeLessThanOrEqual(10)
  }, 120_000)

  it('refuses an overlayThreshold below 8 (it could never go back to the full mesh)', async () => {
    const { createClient } = await import('@plaza/client')
    expect(() => createClient('app', { rendezvousUrl: node.url, overlayThreshold: 3 })).toThrow(/overlayThreshold/)
  })

  it('stays a full mesh (per-member confirmations) at or below the threshold; its copies through the relay count in the metric', async () => {
    const { channels, got } = await members('fm', THRESHOLD, 'fm-room', { directLinks: false })
    const relayedBefore = await relayedChannelMessages()
    const r = await channels[0]!.sendMessage({ text: 'hello' })
    expect(r).toMatchObject({ members: THRESHOLD - 1, received: THRESHOLD - 1, unconfirmed: 0 })
    expect(await relayedChannelMessages()).toBe(relayedBefore + THRESHOLD - 1)
    await until(() => got.slice(1).every((g) => g.get('fm-0')?.length === 1), 10_000, 'the message')
    expect(channels.every((ch) => ch.overlayLinks.length === 0)).toBe(true)
  })
})
