import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PeerMessageState, type PlazaChannel } from '@plaza/client'
import { utf8Length } from '@plaza/protocol'
import { closeClients, loggedIn, makeClient } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until, waitForEvent } from '../../helpers/wait.js'
import { metric, textOf } from './util.js'

// Issue 9, item 10: the smaller ones.
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

describe('OFFLINE_ACK', () => {
  it('150 offline messages: each delivered once, and delivered_total ends at exactly 150 (ten receivers)', async () => {
    // The bug is a race (the node lists the store again right after the last acknowledgement,
    // maybe before the removal is applied); ten receivers give it ten chances.
    const DELIVERED = 'plaza_offline_messages_delivered_total'
    const RECEIVERS = 10
    const sender = await loggedIn(node, 'sm-ack-s', { directLinks: false })
    for (let r = 0; r < RECEIVERS; r++) {
      const results = await Promise.all(
        Array.from({ length: 150 }, (_, i) => sender.sendMessageToPeer({ text: String(i) }, `sm-ack-r${r}`, { enableOfflineMessaging: true })),
      )
      expect(results.every((x) => x.state === PeerMessageState.CACHED_BY_SERVER)).toBe(true)
    }
    const before = await metric(node, DELIVERED)
    const got: string[][] = []
    for (let r = 0; r < RECEIVERS; r++) {
      const receiver = makeClient(node, { directLinks: false })
      const mine: string[] = (got[r] = [])
      receiver.on('MessageFromPeer', (m) => mine.push(textOf(m)))
      await receiver.login({ uid: `sm-ack-r${r}`, token: await node.token(`sm-ack-r${r}`) })
      await until(() => mine.length >= 150, 10_000, `150 messages at receiver ${r}`)
    }
    await until(async () => (await metric(node, DELIVERED)) - before >= 150 * RECEIVERS, 5000, 'the node to count them all')
    // Acknowledged messages listed again reach the client within milliseconds, which
    // acknowledges them again and the node counts them again: watch the counter for a while.
    await until(async () => (await metric(node, DELIVERED)) - before > 150 * RECEIVERS, 3000, 'a second count').catch(() => undefined)
    for (const mine of got) expect(mine).toEqual(Array.from({ length: 150 }, (_, i) => String(i)))
    expect((await metric(node, DELIVERED)) - before, 'delivered_total counts each message once').toBe(150 * RECEIVERS)
  })
})

describe('static files', () => {
  it('a read error while serving a static file does not kill the node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plaza-static-'))
    symlinkSync('/proc/self/mem', join(dir, 'bad.html')) // stat says a file; reading it fails (EIO)
    const own = await startRendezvous({ args: ['--static-dir', dir] })
    try {
      expect((await fetch(`${own.httpUrl}/healthz`)).status).toBe(200)
      await fetch(`${own.httpUrl}/bad.html`)
        .then((r) => r.arrayBuffer())
        .catch(() => undefined) // the body may be cut: the node can only end the response
      await until(
        async () => (await fetch(`${own.httpUrl}/healthz`).then((r) => r.status).catch(() => 0)) === 200 || own.proc.exitCode !== null,
        5000,
        'the node to answer or exit',
      )
      expect(own.proc.exitCode, 'the node is still running').toBeNull()
      expect((await fetch(`${own.httpUrl}/healthz`)).status).toBe(200)
    } finally {
      await stopRendezvous(own)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('member count', () => {
  it('the last of 5 quick joiners has the real memberCount and gets MemberCountUpdated', async () => {
    const channels: PlazaChannel[] = []
    for (let i = 0; i < 5; i++) {
      const c = await loggedIn(node, `sm-mc-${i}`, { directLinks: false })
      channels.push(c.createChannel('sm-mc-room'))
    }
    // Joined one after the other, well within the node's one-second count interval.
    for (const ch of channels.slice(0, 4)) await ch.join()
    const last = channels[4]
    const updated = waitForEvent<[number]>(last, 'MemberCountUpdated', (n) => n === 5, 5000)
    await last.join()
    expect((last as unknown as { memberCount: number }).memberCount).toBe(5)
    expect((await updated)[0]).toBe(5)
  })
})

describe('utf8Length', () => {
  it('counts lone surrogates as TextEncoder encodes them (U+FFFD, 3 bytes)', () => {
    const samples = ['\ud800a', 'a\ud800', '\udc00', '\ud800\ud800', '\ud800\u00e9', '\udbff\u4e00', '\ud83d\ude00', 'x\udc00\ud800y']
    const wrong = samples
      .map((s) => ({ s, ours: utf8Length(s), encoded: new TextEncoder().encode(s).length }))
      .filter((x) => x.ours !== x.encoded)
      .map((x) => `${JSON.stringify(x.s)}: utf8Length ${x.ours}, TextEncoder ${x.encoded}`)
    expect(wrong.join('; ')).toBe('')
  })
})
