import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PlazaChannel } from '@plaza/client'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until } from '../../helpers/wait.js'
import { textOf } from './util.js'

// Issue 9, item 6: a channel message the SDK accepted (1500 per 3 s) must reach every member.
// Today the node's channel-relay budget (12 000 copies per 3 s, refilled at 4000/s) refuses
// copies with TOO_OFTEN and the sender settles and skips them: members miss messages silently.
// 20 relay-only members make 19 copies of each message; the sender sends its full burst of
// 1500 at once, then 1500 more at 400/s (under the SDK's 500/s refill): 57 000 copies.
// (The refusals need the relay to carry more than 4000 copies/s; this machine does ~10 000.)
const MEMBERS = 20
const BURST = 1500
const PACED = 1500
const MESSAGES = BURST + PACED
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

describe('channel messages through the relay', () => {
  it('20 relay-only members: every member gets every message the SDK accepted, in order, once', async () => {
    const channels: PlazaChannel[] = []
    const got = new Map<string, string[]>()
    /** A message delivered out of its place: delivery is in order, so what was skipped is lost for good. */
    const gaps = new Map<string, string>()
    for (let i = 0; i < MEMBERS; i++) {
      const uid = `cb-${i}`
      const client = await loggedIn(node, uid, { directLinks: false })
      const ch = client.createChannel('cb-room')
      const mine: string[] = []
      got.set(uid, mine)
      ch.on('ChannelMessage', (m, from) => {
        if (from !== 'cb-0') return
        const t = textOf(m)
        if (t !== `m${mine.length}` && !gaps.has(uid)) gaps.set(uid, `got ${t} after ${mine.length} messages`)
        mine.push(t)
      })
      await ch.join()
      channels.push(ch)
    }
    // The sender knows every other member before it sends (member events precede this answer).
    expect((await channels[0].getMembers()).length).toBe(MEMBERS)

    const sender = channels[0]
    const refusedBySdk: unknown[] = []
    const send = (i: number) => sender.sendMessage({ text: `m${i}` }).catch((e: unknown) => void refusedBySdk.push(e))
    const t0 = Date.now()
    for (let i = 0; i < BURST; i++) void send(i)
    for (let i = BURST; i < MESSAGES; i += 8) {
      await new Promise((r) => setTimeout(r, 20)) // pacing (400/s), not waiting for an outcome
      for (let j = i; j < Math.min(i + 8, MESSAGES); j++) void send(j)
    }
    expect(refusedBySdk, 'the SDK accepted every message').toEqual([])

    const last = `m${MESSAGES - 1}`
    const receivers = [...got].filter(([uid]) => uid !== 'cb-0')
    await until(() => gaps.size > 0 || receivers.every(([, list]) => list.at(-1) === last), 45_000, 'the last message at every member, or a loss')
    const counts = Object.fromEntries(receivers.map(([uid, list]) => [uid, list.length]))
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text()
    const refusals = /^plaza_errors_total\{code="TOO_OFTEN"\} (\d+)/m.exec(metrics)?.[1] ?? '0'
    console.log(
      `after ${Date.now() - t0} ms: received per member ${JSON.stringify(counts)}; ` +
        `${gaps.size} members skipped messages; TOO_OFTEN answers by the node: ${refusals}`,
    )
    const firstGaps = [...gaps].slice(0, 3).map(([uid, gap]) => `${uid} ${gap}`).join('; ')
    expect(firstGaps, 'members that skipped messages (first 3)').toBe('')
    const expected = Array.from({ length: MESSAGES }, (_, i) => `m${i}`)
    for (const [, list] of receivers) expect(list).toEqual(expected)
  })
})
