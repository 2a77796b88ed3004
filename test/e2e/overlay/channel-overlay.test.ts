import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type PlazaChannel } from '@plaza/client'
import { Agent } from '../../helpers/agents.js'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until } from '../../helpers/wait.js'
import { metric } from '../../hostile/util.js'

// The client's side of the channel overlay (issue 14): above the threshold a channel's messages go
// member to member over direct links, signed, each delivered once and in order, none through the
// node. Each member is its own Node process: one process holding many @roamhq/wrtc links runs out
// of open files (80–230 descriptors per link, both ends in the process, were seen here).
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

const THRESHOLD = 8

const relayedChannelMessages = () => metric(node, 'plaza_messages_relayed_total', 'kind="channel"')

describe('channel overlay over real WebRTC links, one process per member', () => {
  it('above the threshold every member gets every message once and in its sender’s order, none through the node', async () => {
    const n = 10
    const per = 5
    const agents = await Promise.all(Array.from({ length: n }, (_, i) => Agent.start(node, `ov-${i}`, { options: { overlayThreshold: THRESHOLD } })))
    try {
      for (const a of agents) await a.call('join', { channel: 'ov-room' })
      const t0 = Date.now()
      const links = async () => Promise.all(agents.map((a) => a.call<string[]>('overlayLinks', { channel: 'ov-room' })))
      await until(async () => (await links()).every((l) => l.length >= 2), 30_000, 'overlay links')
      console.log(`overlay links formed ${Date.now() - t0} ms after the last join: ${(await links()).map((l) => l.length).join(' ')}`)
      const relayedBefore = await relayedChannelMessages()
      const t1 = Date.now()
      const results = await Promise.all(agents.map((a) => a.call<unknown[]>('sendBurst', { channel: 'ov-room', count: per, prefix: `${a.uid}:` })))
      // No per-member confirmation in an overlay: every copy is reported unconfirmed, none claimed received.
      for (const r of results.flat()) expect(r).toEqual({ members: n - 1, received: 0, failures: [], unconfirmed: n - 1 })
      const messages = (a: Agent) => a.events.filter((e) => e.event === 'message')
      await Promise.all(agents.map((a) => a.until((ev) => ev.filter((e) => e.event === 'message').length >= (n - 1) * per, 60_000, 'every message')))
      console.log(`${n * per} messages to ${n - 1} members each in ${Date.now() - t1} ms`)
      for (const receiver of agents) {
        const got = messages(receiver)
        expect(got.length).toBe((n - 1) * per)
        for (const sender of agents) {
          const texts = got.filter((e) => e.from === sender.uid).map((e) => e.text)
          expect(texts).toEqual(sender === receiver ? [] : Array.from({ length: per }, (_, i) => `${sender.uid}:${i}`))
        }
      }
      expect(await relayedChannelMessages()).toBe(relayedBefore)
      for (const l of await links()) expect(l.length).toBeLessThanOrEqual(10)
    } finally {
      await Promise.all(agents.map((a) => a.kill()))
    }
  }, 150_000)

  it('carries on through a kill -9 and restart of the node: every member gets every message once and in order, nobody reported gone', async () => {
    const n = 8
    const per = 25
    const agents = await Promise.all(Array.from({ length: n }, (_, i) => Agent.start(node, `rs-${i}`, { options: { overlayThreshold: THRESHOLD - 3, rtcConfig: { iceServers: [] } } })))
    try {
      for (const a of agents) await a.call('join', { channel: 'rs-room' })
      await until(async () => (await Promise.all(agents.map((a) => a.call<string[]>('overlayLinks', { channel: 'rs-room' })))).every((l) => l.length >= 2), 30_000, 'overlay links')
      const sending = Promise.all(agents.map((a) => a.call('sendPaced', { channel: 'rs-room', count: per, prefix: `${a.uid}:`, intervalMs: 200 }, 60_000)))
      await agents[0]!.until((ev) => ev.filter((e) => e.event === 'message').length >= 3 * (n - 1), 20_000, 'the first messages')
      await node.kill()
      await node.restart()
      await sending
      const texts = (receiver: Agent, sender: Agent) => receiver.events.filter((e) => e.event === 'message' && e.from === sender.uid).map((e) => e.text)
      await Promise.all(agents.map((a) => a.until((ev) => ev.filter((e) => e.event === 'message').length >= (n - 1) * per, 60_000, 'every message')))
      for (const receiver of agents) {
        for (const sender of agents) if (sender !== receiver) expect(texts(receiver, sender)).toEqual(Array.from({ length: per }, (_, i) => `${sender.uid}:${i}`))
        // The restarted node listed members again as they came back: none was gone.
        expect(receiver.events.filter((e) => e.event === 'memberLeft')).toEqual([])
      }
    } finally {
      await Promise.all(agents.map((a) => a.kill()))
    }
  }, 150_000)

  it('delivers what a member sent just before it left: its messages on their way are still forwarded and taken', async () => {
    // 10 members above a threshold of 8; one sends 40 messages and leaves at once, not waiting for
    // them (some are still being signed): they go out first, and the others hear it left while
    // copies still travel.
    const n = 10
    const per = 40
    const agents = await Promise.all(Array.from({ length: n }, (_, i) => Agent.start(node, `lv-${i}`, { options: { overlayThreshold: THRESHOLD, rtcConfig: { iceServers: [] } } })))
    const [leaver, ...rest] = agents as [Agent, ...Agent[]]
    try {
      for (const a of agents) await a.call('join', { channel: 'lv-room' })
      await until(async () => (await Promise.all(agents.map((a) => a.call<string[]>('overlayLinks', { channel: 'lv-room' })))).every((l) => l.length >= 2), 30_000, 'overlay links')
      expect(await leaver.call('sendThenLeave', { channel: 'lv-room', count: per, prefix: 'last:' })).toEqual({ resolved: per, errors: [] })
      const texts = (a: Agent) => a.events.filter((e) => e.event === 'message' && e.from === leaver.uid).map((e) => e.text)
      await Promise.all(rest.map((a) => a.until((ev) => ev.filter((e) => e.event === 'message' && e.from === leaver.uid).length >= per, 45_000, 'the messages of the member that left')))
      for (const a of rest) expect(texts(a)).toEqual(Array.from({ length: per }, (_, i) => `last:${i}`))
    } finally {
      await Promise.all(agents.map((a) => a.kill()))
    }
  }, 150_000)

  it('goes back to the full mesh when members leave, losing no message published as it switches', async () => {
    // 10 members above a threshold of 8; 6 leave, and 15 s later (at 4: the threshold less its
    // hysteresis) each of the 4 left goes back to one copy per member, while all 4 send every 20 ms.
    // Members switch at slightly different moments: a message one of them put in the overlay just
    // before it switched must still reach those that switched just before it.
    const n = 10
    const stay = 4
    const per = 1000
    const agents = await Promise.all(Array.from({ length: n }, (_, i) => Agent.start(node, `sh-${i}`, { options: { overlayThreshold: THRESHOLD, rtcConfig: { iceServers: [] } } })))
    const stayers = agents.slice(0, stay)
    try {
      for (const a of agents) await a.call('join', { channel: 'sh-room' })
      await until(async () => (await Promise.all(agents.map((a) => a.call<string[]>('overlayLinks', { channel: 'sh-room' })))).every((l) => l.length >= 2), 30_000, 'overlay links')
      const sending = Promise.all(stayers.map((a) => a.call('sendPaced', { channel: 'sh-room', count: per, prefix: `${a.uid}:`, intervalMs: 20 }, 90_000)))
      await Promise.all(agents.slice(stay).map((a) => a.call('leave', { channel: 'sh-room' })))
      const t0 = Date.now()
      await until(async () => (await Promise.all(stayers.map((a) => a.call<string[]>('overlayLinks', { channel: 'sh-room' })))).every((l) => l.length === 0), 40_000, 'the full mesh again')
      console.log(`back to the full mesh ${Date.now() - t0} ms after the leaves`)
      await sending
      const texts = (receiver: Agent, sender: Agent) => receiver.events.filter((e) => e.event === 'message' && e.from === sender.uid).map((e) => e.text)
      await Promise.all(stayers.map((a) => a.until((ev) => ev.filter((e) => e.event === 'message' && stayers.some((s) => s.uid === e.from)).length >= (stay - 1) * per, 60_000, 'every message')))
      for (const receiver of stayers) {
        for (const sender of stayers) if (sender !== receiver) expect(texts(receiver, sender)).toEqual(Array.from({ length: per }, (_, i) => `${sender.uid}:${i}`))
      }
    } finally {
      await Promise.all(agents.map((a) => a.kill()))
    }
  }, 180_000)

  it('refuses an overlayThreshold below 5 (it could never go back to the full mesh); Infinity turns it off', () => {
    expect(() => createClient('app', { rendezvousUrl: node.url, overlayThreshold: 4 })).toThrow(/overlayThreshold/)
    expect(() => createClient('app', { rendezvousUrl: node.url, overlayThreshold: Infinity })).not.toThrow()
  })


  it('stays a full mesh (per-member confirmations) at or below the threshold; its copies through the relay count in the metric', async () => {
    const clients = await Promise.all(Array.from({ length: THRESHOLD }, (_, i) => loggedIn(node, `fm-${i}`, { overlayThreshold: THRESHOLD, directLinks: false })))
    const channels: PlazaChannel[] = clients.map((c) => c.createChannel('fm-room'))
    const got = channels.map(() => [] as string[])
    channels.forEach((ch, i) => ch.on('ChannelMessage', (m, from) => got[i]!.push(`${from}:${m.messageType === 'TEXT' ? m.text : ''}`)))
    for (const ch of channels) await ch.join()
    const relayedBefore = await relayedChannelMessages()
    const r = await channels[0]!.sendMessage({ text: 'hello' })
    expect(r).toMatchObject({ members: THRESHOLD - 1, received: THRESHOLD - 1, unconfirmed: 0 })
    expect(await relayedChannelMessages()).toBe(relayedBefore + THRESHOLD - 1)
    await until(() => got.slice(1).every((g) => g.length === 1), 10_000, 'the message')
    expect(channels.every((ch) => ch.overlayLinks.length === 0)).toBe(true)
  })
})
