import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent } from '../helpers/agents.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

// Eight members, each a separate Node process with its own WebRTC links (7 each), against one
// rendezvous process with its default liveness (a crashed member leaves after 30 s).
const N = 8
const PER_SENDER = 200
let node: RendezvousProcess
let agents: Agent[] = []

beforeAll(async () => {
  node = await startRendezvous()
  agents = await Promise.all(Array.from({ length: N }, (_, i) => Agent.start(node, `p${i}`)))
  for (const a of agents) await a.call('join', { channel: 'room-8' })
}, 60_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.kill()))
  await stopRendezvous(node)
})

describe('a channel of 8 processes', () => {
  it('delivers every member’s 200 messages to every other member exactly once, each sender in order', async () => {
    const everyone = agents.map((a) => a.uid).sort()
    for (const a of agents) expect(await a.call('members', { channel: 'room-8' })).toEqual(everyone)
    await Promise.all(agents.map((a) => a.call('send', { channel: 'room-8', count: PER_SENDER, prefix: `${a.uid}:` })))
    const messages = (a: Agent) => a.events.filter((e) => e.event === 'message')
    await Promise.all(
      agents.map((a) => a.until((ev) => ev.filter((e) => e.event === 'message').length >= (N - 1) * PER_SENDER, 90_000, 'all messages')),
    )
    for (const receiver of agents) {
      const got = messages(receiver)
      expect(got.length).toBe((N - 1) * PER_SENDER)
      for (const sender of agents) {
        const texts = got.filter((e) => e.from === sender.uid).map((e) => e.text)
        const expected = sender === receiver ? [] : Array.from({ length: PER_SENDER }, (_, i) => `${sender.uid}:${i}`)
        expect(texts).toEqual(expected)
      }
    }
  }, 120_000)

  it('tells every member that a killed member left, within 35 s', async () => {
    const victim = agents[N - 1]
    const others = agents.slice(0, N - 1)
    const t0 = Date.now()
    await victim.kill()
    await Promise.all(
      others.map((a) => a.until((ev) => ev.some((e) => e.event === 'memberLeft' && e.uid === victim.uid), 35_000, 'MemberLeft')),
    )
    const elapsed = Date.now() - t0
    expect(elapsed).toBeLessThan(35_000)
    console.log(`MemberLeft reached all ${others.length} members ${elapsed} ms after kill -9`)
  }, 60_000)
})
