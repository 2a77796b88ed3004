import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PlazaClient } from '@plaza/client'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until } from '../../helpers/wait.js'

// Found by an outside attack: a member list that answered a join could be taken after member
// events that came behind it in the same read from the socket, and undo them; the sender then
// left that member out of every channel message, reporting full success.
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

describe('members who join at the same moment', () => {
  it('all know each other: every message reaches every other member', async () => {
    const N = 6
    const clients: PlazaClient[] = await Promise.all(Array.from({ length: N }, (_, i) => loggedIn(node, `cj-${i}`, { directLinks: false })))
    for (let round = 0; round < 8; round++) {
      const rooms = clients.map((c) => c.createChannel(`cj-room-${round}`))
      const got = rooms.map(() => new Set<string>())
      rooms.forEach((r, i) => r.on('ChannelMessage', (m, from) => got[i].add(`${from}:${m.messageType === 'TEXT' ? m.text : ''}`)))
      await Promise.all(rooms.map((r) => r.join()))
      await until(async () => (await Promise.all(rooms.map((r) => r.getMembers()))).every((m) => m.length === N), 10_000, 'everyone in')
      const results = await Promise.all(rooms.map((r, i) => r.sendMessage({ text: `hello ${round} from ${i}` })))
      expect(results.map((r) => `${r.members}/${r.received}`)).toEqual(Array(N).fill(`${N - 1}/${N - 1}`))
      for (let i = 0; i < N; i++) expect(got[i].size).toBe(N - 1)
      await Promise.all(rooms.map((r) => r.leave()))
    }
  }, 120_000)
})
