import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, PlazaError } from '@plaza/client'
import { closeClients, loggedIn, makeClient } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until } from '../../helpers/wait.js'
import { startDelayProxy, type DelayProxy } from './delay-proxy.js'

// Issue 9, item 10: a join() that fails (here: the node's answers are held back until the
// request times out) must not leave the node counting a member the client thinks has left.
let node: RendezvousProcess
let proxy: DelayProxy
beforeAll(async () => {
  node = await startRendezvous()
  proxy = await startDelayProxy(node.port, 1)
})
afterAll(async () => {
  await closeClients()
  await proxy.close()
  await stopRendezvous(node)
})

describe('a join that fails on the client', () => {
  it('is undone on the node', async () => {
    const watcher = await loggedIn(node, 'fj-w', { directLinks: false })
    const room = watcher.createChannel('fj-room')
    await room.join()
    const seen: string[] = []
    room.on('MemberJoined', (uid) => seen.push(`+${uid}`))
    room.on('MemberLeft', (uid) => seen.push(`-${uid}`))
    const c = makeClient(node, { directLinks: false, rendezvousUrl: proxy.url, requestTimeoutMs: 1500 })
    await c.login({ uid: 'fj-c', token: await node.token('fj-c') })
    const ch = c.createChannel('fj-room')
    proxy.hold(true) // the JOIN goes nowhere for now; it reaches the node when released
    const failed = ch.join().catch((e: unknown) => e)
    const err = await failed
    expect(err).toBeInstanceOf(PlazaError)
    expect((err as PlazaError).code).toBe(ErrorCode.TIMEOUT)
    expect(ch.joined).toBe(false)
    proxy.hold(false) // the JOIN arrives now, and the client's LEAVE after it
    // The held JOIN reaches the node, and right after it the client's LEAVE: the node counts only the watcher.
    await until(() => seen.includes('-fj-c'), 10_000, 'the node to take fj-c out again')
    expect(seen).toEqual(['+fj-c', '-fj-c'])
    expect(await room.getMembers()).toEqual(['fj-w'])
    expect((await watcher.getChannelMemberCount(['fj-room']))['fj-room']).toBe(1)
  })
})
