import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { PlazaChannel, PlazaClient } from '@plaza/client'
import { Agent } from '../../helpers/agents.js'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until } from '../../helpers/wait.js'
import { metric } from '../../hostile/util.js'

// Members outside a channel's overlay (issue 14's relay fallback): a member without direct links
// (or with the overlay off) joins without an overlay key; the node counts it outside and tells the
// overlay's members, who hand the node one copy of each message for all such members; an outside
// member sends its own as in a full mesh (a copy per member). Overlay members are each their
// own process (real @roamhq/wrtc links); the outside members live in this process without WebRTC.
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

const THRESHOLD = 5
const ROOM = 'out-room'
const relayedChannelMessages = () => metric(node, 'plaza_messages_relayed_total', 'kind="channel"')

interface Outside {
  uid: string
  client: PlazaClient
  channel: PlazaChannel
  got: { from: string; text: string }[]
}

async function outsideMember(uid: string, overlayThreshold: number): Promise<Outside> {
  const client = await loggedIn(node, uid, { overlayThreshold, directLinks: false })
  const channel = client.createChannel(ROOM)
  const got: Outside['got'] = []
  channel.on('ChannelMessage', (m, from) => got.push({ from, text: m.messageType === 'TEXT' ? m.text : '' }))
  await channel.join()
  return { uid, client, channel, got }
}

describe('members outside a channel overlay', () => {
  it('get every overlay message through the node (one upload for all of them) and reach everyone with theirs; nothing relayed once they are gone', async () => {
    const per = 4
    const agents = await Promise.all(Array.from({ length: 6 }, (_, i) => Agent.start(node, `in-${i}`, { options: { overlayThreshold: THRESHOLD } })))
    try {
      for (const a of agents) await a.call('join', { channel: ROOM })
      // One without direct links (the overlay on), one with the overlay off: both outside it.
      const outside = [await outsideMember('out-nolinks', THRESHOLD), await outsideMember('out-off', Infinity)]
      const n = agents.length + outside.length
      // The node tells the overlay's members of an outside member before its member event.
      for (const a of agents) await a.until((ev) => outside.every((o) => ev.some((e) => e.event === 'memberJoined' && e.uid === o.uid)), 10_000, 'outside members joined')
      const links = async () => Promise.all(agents.map((a) => a.call<string[]>('overlayLinks', { channel: ROOM })))
      await until(async () => (await links()).every((l) => l.length >= 2), 30_000, 'overlay links')
      // The node introduces only overlay members as candidates.
      for (const l of await links()) expect(l.filter((u) => u.startsWith('out-'))).toEqual([])

      const relayedBefore = await relayedChannelMessages()
      const results = await Promise.all(agents.map((a) => a.call<unknown[]>('sendBurst', { channel: ROOM, count: per, prefix: `${a.uid}:` })))
      for (const r of results.flat()) expect(r).toEqual({ members: n - 1, received: 0, failures: [], unconfirmed: n - 1 })
      // Through the node: each overlay message once per outside member, nothing else.
      await until(() => outside.every((o) => o.got.length >= agents.length * per), 30_000, 'outside members get every overlay message')
      expect(await relayedChannelMessages()).toBe(relayedBefore + agents.length * per * outside.length)
      // The member without links sends as in a full mesh: a copy per member through the relay, each acknowledged.
      const relayedBeforeOwn = await relayedChannelMessages()
      const own = await Promise.all(Array.from({ length: per }, (_, i) => outside[0]!.channel.sendMessage({ text: `out-nolinks:${i}` })))
      for (const r of own) expect(r).toEqual({ members: n - 1, received: n - 1, failures: [], unconfirmed: 0 })
      expect(await relayedChannelMessages()).toBeGreaterThanOrEqual(relayedBeforeOwn + per * (n - 1))

      const overlayTexts = (from: Agent) => Array.from({ length: per }, (_, i) => `${from.uid}:${i}`)
      const outsideTexts = Array.from({ length: per }, (_, i) => `out-nolinks:${i}`)
      await until(() => outside.every((o) => o.got.length >= agents.length * per + (o === outside[0] ? 0 : per)), 30_000, 'outside members get every message')
      for (const o of outside) {
        for (const a of agents) expect(o.got.filter((m) => m.from === a.uid).map((m) => m.text)).toEqual(overlayTexts(a))
        expect(o.got.filter((m) => m.from === 'out-nolinks').map((m) => m.text)).toEqual(o === outside[0] ? [] : outsideTexts)
      }
      const messages = (a: Agent, from: string) => a.events.filter((e) => e.event === 'message' && e.from === from).map((e) => e.text)
      await Promise.all(agents.map((a) => a.until((ev) => ev.filter((e) => e.event === 'message').length >= (agents.length - 1) * per + per, 30_000, 'every message')))
      for (const receiver of agents) {
        for (const sender of agents) expect(messages(receiver, sender.uid)).toEqual(sender === receiver ? [] : overlayTexts(sender))
        expect(messages(receiver, 'out-nolinks')).toEqual(outsideTexts)
      }

      // The member with the overlay off sends its own way (a copy per member) and reaches everyone too.
      await outside[1]!.channel.sendMessage({ text: 'from-off' })
      await Promise.all(agents.map((a) => a.until((ev) => ev.some((e) => e.event === 'message' && e.from === 'out-off' && e.text === 'from-off'), 20_000, 'the overlay-off member’s message')))
      await until(() => outside[0]!.got.some((m) => m.from === 'out-off'), 20_000, 'at the other outside member')

      // Once they have left, nothing of the overlay passes through the node.
      for (const o of outside) await o.channel.leave()
      for (const a of agents) await a.until((ev) => outside.every((o) => ev.some((e) => e.event === 'memberLeft' && e.uid === o.uid)), 10_000, 'outside members left')
      const relayedAfterLeave = await relayedChannelMessages()
      await Promise.all(agents.map((a) => a.call('sendBurst', { channel: ROOM, count: 2, prefix: `${a.uid}:late:` })))
      await Promise.all(agents.map((a) => a.until((ev) => ev.filter((e) => e.event === 'message' && String(e.text).includes(':late:')).length >= (agents.length - 1) * 2, 30_000, 'late messages')))
      expect(await relayedChannelMessages()).toBe(relayedAfterLeave)
    } finally {
      await Promise.all(agents.map((a) => a.kill()))
    }
  }, 150_000)

  it('takes in a member whose direct links all fail: it sends copies meanwhile (acknowledged, each reaching everyone once), and after 30 s without an overlay link (three failed) it moves outside', async () => {
    const room = 'out-linkless'
    const agents = await Promise.all(Array.from({ length: 6 }, (_, i) => Agent.start(node, `ll-${i}`, { options: { overlayThreshold: THRESHOLD } })))
    try {
      for (const a of agents) await a.call('join', { channel: room })
      // A member outside from the start: it gets the blocked member's messages once, whichever way they go.
      const bystander = await loggedIn(node, 'll-outside', { overlayThreshold: THRESHOLD, directLinks: false })
      const bystanderChannel = bystander.createChannel(room)
      const seen: string[] = []
      bystanderChannel.on('ChannelMessage', (m, from) => seen.push(`${from}>${m.messageType === 'TEXT' ? m.text : ''}`))
      await bystanderChannel.join()
      // Relay-only ICE and no TURN server: no candidate pair can ever form, so no direct link opens.
      const client = await loggedIn(node, 'll-blocked', { overlayThreshold: THRESHOLD, rtcConfig: { iceServers: [], iceTransportPolicy: 'relay' } })
      const channel = client.createChannel(room)
      const got: { from: string; text: string }[] = []
      channel.on('ChannelMessage', (m, from) => got.push({ from, text: m.messageType === 'TEXT' ? m.text : '' }))
      await channel.join()
      const t0 = Date.now()
      // In the overlay (it joined with a key) with no link: its messages go as copies (through the relay), not to nobody.
      const early = await Promise.all([0, 1, 2].map((i) => channel.sendMessage({ text: `early:${i}` })))
      for (const r of early) expect(r).toEqual({ members: agents.length + 1, received: agents.length + 1, failures: [], unconfirmed: 0 })
      await until(() => seen.length >= 3, 10_000, 'the early messages at the member outside')
      await Promise.all(agents.map((a) => a.until((ev) => ev.filter((e) => e.event === 'message' && e.from === 'll-blocked').length >= 3, 10_000, 'the blocked member’s early messages')))
      for (const a of agents) expect(a.events.filter((e) => e.event === 'message' && e.from === 'll-blocked').map((e) => e.text)).toEqual(['early:0', 'early:1', 'early:2'])
      expect(channel.overlayLinks).toEqual([])
      // Moved outside after 30 s without a link: the overlay's messages reach it through the node from then on.
      for (let i = 0; !got.some((m) => m.from === agents[0]!.uid); i++) {
        if (Date.now() - t0 > 90_000) throw new Error('the blocked member never moved outside')
        await agents[0]!.call('sendBurst', { channel: room, count: 1, prefix: `probe${i}-` })
        await until(() => got.some((m) => m.from === agents[0]!.uid), 2000, 'a probe').catch(() => undefined)
      }
      console.log(`the linkless member moved outside ${Date.now() - t0} ms after it joined`)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(30_000)
      // Outside now: the overlay's messages reach it through the node, its own go through the node's fan-out.
      await Promise.all(agents.map((a) => a.call('sendBurst', { channel: room, count: 3, prefix: `${a.uid}:` })))
      await until(() => got.length >= agents.length * 3, 20_000, 'overlay messages at the member outside')
      for (const a of agents) expect(got.filter((m) => m.from === a.uid && m.text.startsWith(`${a.uid}:`)).map((m) => m.text)).toEqual([`${a.uid}:0`, `${a.uid}:1`, `${a.uid}:2`])
      expect(await channel.sendMessage({ text: 'late' })).toEqual({ members: agents.length + 1, received: agents.length + 1, failures: [], unconfirmed: 0 })
      await Promise.all(agents.map((a) => a.until((ev) => ev.some((e) => e.event === 'message' && e.from === 'll-blocked' && e.text === 'late'), 10_000, 'its late message')))
      // The member outside got each of the blocked member's messages once.
      await until(() => seen.includes('ll-blocked>late'), 10_000, 'the late message outside')
      expect(seen.filter((x) => x.startsWith('ll-blocked>'))).toEqual(['ll-blocked>early:0', 'll-blocked>early:1', 'll-blocked>early:2', 'll-blocked>late'])
    } finally {
      await Promise.all(agents.map((a) => a.kill()))
    }
  }, 150_000)
})
