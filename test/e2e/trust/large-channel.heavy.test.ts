import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PlazaChannel } from '@plaza/client'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { MANY_CONNECTIONS, startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until } from '../../helpers/wait.js'
import { textOf } from './util.js'

// Issue 9, item 6: above 512 members a member knows only a sample of the others, so copies
// addressed member by member would reach only the sample. There the node fans each message out
// to every member: all of them get it, in order, once.
const MEMBERS = 520
let node: RendezvousProcess
beforeAll(async () => {
  // 520 sessions share this one process: a keepalive of 6 s (the default 2 s × 3) would call a
  // busy moment a lost connection, which is not what this test is about.
  node = await startRendezvous({ args: [...MANY_CONNECTIONS, '--rate-limit', 'joins=100000/1000', '--ping-interval', '10000'] })
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

describe(`a channel of ${MEMBERS} members`, () => {
  it('every member gets every message, in order, once', async () => {
    const channels: PlazaChannel[] = []
    const got = new Map<string, string[]>()
    for (let i = 0; i < MEMBERS; i++) {
      const uid = `lc-${i}`
      const client = await loggedIn(node, uid, { directLinks: false })
      const ch = client.createChannel('lc-room')
      const mine: string[] = []
      got.set(uid, mine)
      ch.on('ChannelMessage', (m, from) => mine.push(`${from}:${textOf(m)}`))
      await ch.join()
      channels.push(ch)
    }
    await until(() => channels.every((c) => c.memberCount === MEMBERS), 30_000, `every member to count ${MEMBERS}`)
    const results = []
    for (let i = 0; i < 5; i++) {
      results.push(await channels[0].sendMessage({ text: `a${i}` }))
      results.push(await channels[MEMBERS - 1].sendMessage({ text: `b${i}` }))
    }
    expect(results[0]).toEqual({ members: MEMBERS - 1, received: 0, failures: [], unconfirmed: MEMBERS - 1 })
    const fromA = (list: string[]) => list.filter((t) => t.startsWith('lc-0:')).map((t) => t.slice(5))
    const fromB = (list: string[]) => list.filter((t) => t.startsWith(`lc-${MEMBERS - 1}:`)).map((t) => t.split(':')[1])
    await until(() => [...got].every(([uid, l]) => l.length === (uid === 'lc-0' || uid === `lc-${MEMBERS - 1}` ? 5 : 10)), 30_000, 'every message at every member')
    for (const [uid, list] of got) {
      if (uid !== 'lc-0') expect(fromA(list)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4'])
      if (uid !== `lc-${MEMBERS - 1}`) expect(fromB(list)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4'])
    }
  }, 180_000)
})
