import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConnectionState, FileStorage } from '@plaza/client'
import { FrameType } from '@plaza/protocol'
import { closeClients, makeClient } from '../../helpers/clients.js'
import { APP_ID, startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until } from '../../helpers/wait.js'
import { RawClient } from '../../helpers/raw-client.js'
import { textOf } from './util.js'

// Issue 9, item 8: a message sent between login() and the restore of the saved outbox (a reply
// from a ConnectionStateChanged handler) must not make the saved messages to that peer vanish.
let node: RendezvousProcess
let dir: string
beforeAll(async () => {
  node = await startRendezvous()
  dir = mkdtempSync(join(tmpdir(), 'plaza-outbox-'))
})
afterAll(async () => {
  await stopRendezvous(node)
  rmSync(dir, { recursive: true, force: true })
})
afterEach(() => closeClients())

describe('outbox restore after a reload', () => {
  it('a message sent from the CONNECTED handler goes after the restored ones; none is lost', async () => {
    // B is logged in but never acknowledges: the sender's messages stay unacknowledged.
    const rawB = await RawClient.open(node.url)
    await rawB.login('or-b', await node.token('or-b'))

    // The first life of the sender, in its own process, killed like a closed tab.
    const child = fork(resolve(__dirname, 'outbox-sender.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    try {
      const events: { event: string; error?: string }[] = []
      child.on('message', (m: { event: string }) => events.push(m))
      await until(() => events.some((e) => e.event === 'ready'), 10_000, 'the sender process')
      child.send({ url: node.url, appId: APP_ID, uid: 'or-s', token: await node.token('or-s'), dir, to: 'or-b', count: 5 })
      await until(() => events.some((e) => e.event === 'flushed' || e.event === 'error'), 15_000, 'the outbox on disk')
      expect(events.find((e) => e.event === 'error')).toBeUndefined()
      await until(() => rawB.frames.filter((f) => f.type === FrameType.RELAY_FROM).length >= 5, 10_000, 'B to see the 5 messages')
    } finally {
      child.kill('SIGKILL')
      await exited
    }

    // The reload: same storage, same user. It replies at once from its CONNECTED handler.
    const sender = makeClient(node, { storage: new FileStorage(dir), directLinks: false, messageTimeoutMs: 30_000 })
    sender.on('ConnectionStateChanged', (state) => {
      if (state === ConnectionState.CONNECTED) void sender.sendMessageToPeer({ text: 'new' }, 'or-b')
    })
    await sender.login({ uid: 'or-s', token: await node.token('or-s') })

    // A real client takes over B's user (the raw socket is replaced: B never goes offline).
    const b = makeClient(node, { directLinks: false })
    const got: string[] = []
    b.on('MessageFromPeer', (m, from) => {
      if (from === 'or-s') got.push(textOf(m))
    })
    await b.login({ uid: 'or-b', token: await node.token('or-b') })
    rawB.close()
    // Unacknowledged copies go again every 2 s; the new message comes after the old ones.
    await until(() => got.includes('new'), 15_000, 'the new message at B')
    expect(got).toEqual(['old0', 'old1', 'old2', 'old3', 'old4', 'new'])
  })
})
