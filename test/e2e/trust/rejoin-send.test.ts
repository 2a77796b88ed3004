import { afterEach, expect, it } from 'vitest'
import type { ChannelSendResult } from '@plaza/client'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until } from '../../helpers/wait.js'
import { textOf } from './util.js'

// Found by the 64-member overlay test (issue 14): right after a reconnect, while a channel joined
// again on the node, sendMessage threw NOT_IN_CHANNEL to an app that never left (it can send
// while the connection is down, and again once the join is done, but not in between).
let node: RendezvousProcess | undefined
afterEach(async () => {
  await closeClients()
  await stopRendezvous(node)
  node = undefined
})

it('a member can send while its channel joins again after a reconnect (never NOT_IN_CHANNEL); the message arrives', async () => {
  node = await startRendezvous()
  const a = await loggedIn(node, 'rj-a', { directLinks: false })
  const b = await loggedIn(node, 'rj-b', { directLinks: false })
  const cha = a.createChannel('rj-room')
  const chb = b.createChannel('rj-room')
  const got: string[] = []
  chb.on('ChannelMessage', (m) => got.push(textOf(m)))
  await cha.join()
  await chb.join()
  await until(() => cha.memberCount === 2 && chb.memberCount === 2, 10_000, 'two members')

  let connected = 0
  const rejoining = () => (cha as unknown as { rejoining: Promise<void> | null }).rejoining !== null
  const during = new Promise<{ joined: boolean; inRejoin: boolean; result: ChannelSendResult | Error }>((resolve) => {
    a.on('ConnectionStateChanged', (state) => {
      if (state !== 'CONNECTED' || ++connected !== 1) return
      // The join again starts as the session is ready (just after this event) and waits for the
      // node's answer: a send in the next turn falls inside it.
      setImmediate(() => {
        const joined = cha.joined
        const inRejoin = rejoining()
        const done = (result: ChannelSendResult | Error) => resolve({ joined, inRejoin, result })
        cha.sendMessage({ text: 'during the rejoin' }).then(done, done)
      })
    })
  })
  await node.kill()
  await node.restart()
  const r = await during
  // The send fell inside the join again (the window this test is about), and the channel was in.
  expect(r.inRejoin).toBe(true)
  expect(r.joined).toBe(true)
  expect(r.result).not.toBeInstanceOf(Error)
  await until(() => got.includes('during the rejoin'), 20_000, 'the message at the other member')
  expect(got).toEqual(['during the rejoin'])
})
