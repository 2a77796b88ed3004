import { afterEach, describe, expect, it } from 'vitest'
import type { ChannelSendResult, PlazaChannel, PlazaClient } from '@plaza/client'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until } from '../../helpers/wait.js'
import { textOf } from './util.js'

// Found by an outside attack after the issue 9 work: channel messages sent while the node is
// down (kill -9) were answered FAILURE for members who never left, and never delivered. After
// the restart the members join again one by one; the first one back got a member list without
// the others and gave up its copies to them. A member missing from a new list may be coming
// back: its copies wait for it until their timeout.
let node: RendezvousProcess | undefined
afterEach(async () => {
  await closeClients()
  await stopRendezvous(node)
  node = undefined
})

async function member(uid: string, opts: Parameters<typeof loggedIn>[2] = {}): Promise<{ client: PlazaClient; ch: PlazaChannel; got: string[] }> {
  const client = await loggedIn(node!, uid, { directLinks: false, ...opts })
  const ch = client.createChannel('cr-room')
  const got: string[] = []
  ch.on('ChannelMessage', (m) => got.push(textOf(m)))
  await ch.join()
  return { client, ch, got }
}

describe('channel messages sent while the node restarts', () => {
  for (const slow of [false, true]) {
    it(`reach every member who never left, in order${slow ? ', one member coming back seconds after the others' : ''}`, async () => {
      node = await startRendezvous()
      const a = await member('cr-a')
      const b = await member('cr-b')
      // The slow one reconnects 2–6 s after it lost the node (the others within about a second).
      const c = await member('cr-c', slow ? { reconnectMinMs: 4000, reconnectMaxMs: 4000 } : {})
      await until(() => a.ch.memberCount === 3 && b.ch.memberCount === 3 && c.ch.memberCount === 3, 10_000, 'three members')
      await a.ch.sendMessage({ text: 'before' })

      await node.kill()
      const during: Promise<ChannelSendResult>[] = []
      for (let i = 0; i < 5; i++) during.push(a.ch.sendMessage({ text: `down${i}` }))
      await new Promise((r) => setTimeout(r, 1500))
      await node.restart()

      const results = await Promise.all(during)
      const after = await a.ch.sendMessage({ text: 'after' })
      const expected = ['before', 'down0', 'down1', 'down2', 'down3', 'down4', 'after']
      await until(() => b.got.length >= expected.length && c.got.length >= expected.length, 30_000, 'every message at both members')
      expect(b.got).toEqual(expected)
      expect(c.got).toEqual(expected)
      // No outcome says a member was not in the channel: none of them left.
      for (const r of [...results, after]) expect(r.failures.filter((f) => f.state === 'FAILURE')).toEqual([])
    })
  }

  // Found by the seeded simulation (seed 107): an app that keeps its member list from getMembers()
  // and the events after it missed a member for good. A member missing from the list a join
  // again got stayed a member on this side (it may be coming back); getMembers() said otherwise
  // but changed nothing, so when the member came back no MemberJoined came either.
  it('getMembers while a member is not back brings the list in step: MemberLeft for it, MemberJoined when it is back', async () => {
    node = await startRendezvous()
    const a = await member('cr-a')
    const c = await member('cr-c', { reconnectMinMs: 6000, reconnectMaxMs: 6000 })
    await until(() => a.ch.memberCount === 2 && c.ch.memberCount === 2, 10_000, 'two members')
    const events: string[] = []
    a.ch.on('MemberJoined', (u) => events.push(`+${u}`))
    a.ch.on('MemberLeft', (u) => events.push(`-${u}`))
    await node.kill()
    await node.restart()
    // a is back in the channel (the node lists it alone) while c waits to reconnect.
    await until(() => a.ch.memberCount === 1, 10_000, 'a in the channel again')
    expect(events).toEqual([])
    expect(await a.ch.getMembers()).toEqual(['cr-a'])
    expect(events).toEqual(['-cr-c'])
    await until(() => events.length === 2, 20_000, 'c back')
    expect(events).toEqual(['-cr-c', '+cr-c'])
    expect((await a.ch.getMembers()).sort()).toEqual(['cr-a', 'cr-c'])
  })
})
