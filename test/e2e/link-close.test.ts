import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent } from '../helpers/agents.js'
import { APP_ID, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { until } from '../helpers/wait.js'

// A member that logs out and in again, over and over, while another sends to it as fast as it
// can. Its links close with BYE (PROTOCOL.md, "Link frames"): the sender closes them itself, so it
// never has a link closed under it while it sends — the moment @roamhq/wrtc can crash in — and
// never counts those closes against the member (from the second one it would stop linking to it).
const CHANNEL = 'churn-room'
const CYCLES = 6
let node: RendezvousProcess
let sender: Agent
let churner: Agent

beforeAll(async () => {
  node = await startRendezvous()
  sender = await Agent.start(node, 'steady')
  churner = await Agent.start(node, 'churner')
  for (const a of [sender, churner]) await a.call('join', { channel: CHANNEL })
}, 60_000)

afterAll(async () => {
  await Promise.all([sender, churner].map((a) => a?.kill()))
  await stopRendezvous(node)
})

describe('links closed by logout, under traffic', () => {
  it('close with BYE: the far end, sending all along, stays up and links again at once every time', async () => {
    const sending = sender.call('sendPaced', { channel: CHANNEL, count: 100_000, prefix: 's:', intervalMs: 2 }, 300_000).catch(() => undefined)
    const exited = sender.exited.then(() => {
      throw new Error(`the sender exited (${sender.proc.signalCode ?? sender.proc.exitCode})`)
    })
    const cycles = (async () => {
      for (let i = 0; i < CYCLES; i++) {
        await until(async () => (await sender.call('linkState', { peer: churner.uid })) === 'open', 10_000, `link open, cycle ${i}`)
        const got = churner.events.filter((e) => e.event === 'message').length
        await churner.until((ev) => ev.filter((e) => e.event === 'message').length > got + 50, 10_000, `messages, cycle ${i}`)
        await churner.call('logout')
        await churner.call('login', { url: node.url, appId: APP_ID, uid: churner.uid, token: await node.token(churner.uid) })
        await churner.call('join', { channel: CHANNEL })
      }
      await until(async () => (await sender.call('linkState', { peer: churner.uid })) === 'open', 10_000, 'link open at the end')
    })()
    await Promise.race([cycles, exited])
    expect(sender.proc.exitCode === null && sender.proc.signalCode === null).toBe(true)
    void sending
  }, 200_000)
})
