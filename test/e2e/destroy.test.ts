import { fork } from 'node:child_process'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, PeerMessageState, PlazaError } from '@plaza/client'
import { FrameType } from '@plaza/protocol'
import { closeClients, linkOpen, loggedIn, makeClient } from '../helpers/clients.js'
import { RawClient } from '../helpers/raw-client.js'
import { APP_ID, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { waitForEvent } from '../helpers/wait.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

const codeOf = (p: Promise<unknown> | (() => unknown)) =>
  Promise.resolve()
    .then(typeof p === 'function' ? p : () => p)
    .then(
      () => 'OK',
      (e) => (e instanceof PlazaError ? ErrorCode[e.code] : String(e)),
    )

describe('client.destroy()', () => {
  it('logs out, closes links, stops its timers; safe twice; every method refuses afterwards', async () => {
    const watcher = await loggedIn(node, 'd-watcher')
    await watcher.subscribePeersOnlineStatus(['d-gone'])
    const c = makeClient(node)
    await c.login({ uid: 'd-gone', token: await node.token('d-gone') })
    const room = c.createChannel('d-room')
    await room.join()
    await watcher.createChannel('d-room').join()
    await c.sendMessageToPeer({ text: 'hi' }, 'd-watcher')
    await linkOpen(c, 'd-watcher')
    const offline = waitForEvent(watcher, 'PeersOnlineStatusChanged', (s) => (s as Record<string, string>)['d-gone'] === 'OFFLINE')
    await Promise.all([c.destroy(), c.destroy()])
    await offline
    await c.destroy()
    expect(c.getPeerLinkState('d-watcher')).toBe('none')
    expect(await codeOf(c.login({ uid: 'd-gone', token: await node.token('d-gone') }))).toBe('DESTROYED')
    expect(await codeOf(() => c.createChannel('x'))).toBe('DESTROYED')
    expect(await codeOf(room.join())).toBe('DESTROYED')
    expect(await codeOf(c.getChannelAttributes('d-room'))).toBe('DESTROYED')
    expect(await c.sendMessageToPeer({ text: 'after' }, 'd-watcher')).toMatchObject({ state: PeerMessageState.NOT_LOGGED_IN })
  })

  it('leaves nothing running: a process whose client was destroyed exits on its own', async () => {
    const watcher = await loggedIn(node, 'd-peer')
    await watcher.createChannel('d-child-room').join()
    const child = fork(resolve(__dirname, 'destroy-child.mjs'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    await new Promise((r) => child.once('message', r))
    const done = new Promise<{ linked: boolean }>((r) => child.once('message', (m) => r(m as { linked: boolean })))
    child.send({ url: node.url, appId: APP_ID, uid: 'd-child', token: await node.token('d-child'), peer: 'd-peer', channel: 'd-child-room' })
    expect((await done).linked).toBe(true)
    const t0 = Date.now()
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000))])
    if (code === 'still running after 10 s') child.kill('SIGKILL')
    expect(code).toBe(0)
    console.log(`the process exited ${Date.now() - t0} ms after destroy()`)
  })

  it('channel.release() leaves and frees the channel; createChannel makes a new one', async () => {
    const c = await loggedIn(node, 'd-rel')
    const other = await loggedIn(node, 'd-rel-other')
    const theirs = other.createChannel('d-rel-room')
    await theirs.join()
    const room = c.createChannel('d-rel-room')
    await room.join()
    const left = waitForEvent(theirs, 'MemberLeft', (u) => u === 'd-rel')
    await room.release()
    await left
    expect(await codeOf(room.join())).toBe('DESTROYED')
    const again = c.createChannel('d-rel-room')
    expect(again).not.toBe(room)
    await again.join()
  })
})

describe('bounds in the client', () => {
  it('peer messages under way are bounded (16 MiB); past it TOO_OFTEN at once', async () => {
    // A receiver that never acknowledges: every message stays under way until its timeout.
    const sink = await RawClient.open(node.url)
    await sink.login('d-sink', await node.token('d-sink'))
    const c = await loggedIn(node, 'd-flooder', { directLinks: false })
    const body = 'y'.repeat(30_000)
    const t0 = Date.now()
    const sends = Array.from({ length: 700 }, () => c.sendMessageToPeer({ text: body }, 'd-sink'))
    const early = await Promise.race([Promise.all(sends.slice(-100)), new Promise<null>((r) => setTimeout(() => r(null), 3000))])
    expect(early, 'the last 100 are refused at once, not after the timeout').not.toBeNull()
    expect(early!.every((r) => r.state === PeerMessageState.TOO_OFTEN)).toBe(true)
    expect(Date.now() - t0).toBeLessThan(3000)
    const all = await Promise.all(sends)
    const tooOften = all.filter((r) => r.state === PeerMessageState.TOO_OFTEN).length
    expect(tooOften).toBe(700 - Math.floor((16 * 2 ** 20) / 30_000))
    expect(sink.frames.some((f) => f.type === FrameType.RELAY_FROM)).toBe(true)
    sink.close()
  })
})
