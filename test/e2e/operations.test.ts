import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConnectionState, PeerMessageState } from '@plaza/client'
import { closeClients, loggedIn, makeClient } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { waitForEvent } from '../helpers/wait.js'

const BIN = resolve(__dirname, '../../rendezvous/dist/bin.js')
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

describe('running a node', () => {
  it('--help explains the options; a bad option exits 2 with a message', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, '--help'])
    for (const flag of ['--port', '--host', '--data-dir', '--app', '--log-level', '--offline-retention-ms', '--invitation-expire-ms']) {
      expect(stdout).toContain(flag)
    }
    const bad = await promisify(execFile)(process.execPath, [BIN, '--nope']).catch((e: { code: number; stderr: string }) => e)
    expect(bad).toMatchObject({ code: 2 })
    expect((bad as { stderr: string }).stderr).toMatch(/unknown option '--nope'/i)
    const badLimit = await promisify(execFile)(process.execPath, [BIN, '--rate-limit', 'nonsense=1/2']).catch((e: { code: number; stderr: string }) => e)
    expect(badLimit).toMatchObject({ code: 2 })
  })

  it('takes rate limits from --rate-limit', async () => {
    const own = await startRendezvous({ args: ['--rate-limit', 'messages=5/60000'] })
    try {
      const a = await loggedIn(own, 'rl-a', { directLinks: false, messageRateLimit: { count: 100, windowMs: 1000 } })
      await loggedIn(own, 'rl-b', { directLinks: false })
      const states = []
      for (let i = 0; i < 7; i++) states.push((await a.sendMessageToPeer({ text: `${i}` }, 'rl-b')).state)
      expect(states.slice(0, 5).every((s) => s === PeerMessageState.RECEIVED_BY_PEER)).toBe(true)
      expect(states.slice(5)).toEqual([PeerMessageState.TOO_OFTEN, PeerMessageState.TOO_OFTEN])
    } finally {
      await stopRendezvous(own)
    }
  })

  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    expect(await (await fetch(`${node.httpUrl}/healthz`)).json()).toEqual({ status: 'ok' })
    const a = await loggedIn(node, 'ops-a', { directLinks: false })
    await loggedIn(node, 'ops-b', { directLinks: false })
    await a.sendMessageToPeer({ text: 'count me' }, 'ops-b')
    const ready = (await (await fetch(`${node.httpUrl}/readyz`)).json()) as Record<string, unknown>
    expect(ready).toMatchObject({ status: 'ready' })
    expect(ready.sessions).toBeGreaterThanOrEqual(2)
    const res = await fetch(`${node.httpUrl}/metrics`)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1])
    expect(value('plaza_sessions')).toBeGreaterThanOrEqual(2)
    expect(text).toMatch(/^plaza_messages_relayed_total\{kind="peer"\} [1-9]/m)
    expect(text).toMatch(/^plaza_logins_total\{result="OK"\} [1-9]/m)
    expect(text).toContain('plaza_offline_messages_stored_total')
    expect(text).toContain('plaza_process_resident_memory_bytes')
  })

  it('shuts down gracefully on SIGTERM: clients reconnect after the restart, nothing stored is lost', async () => {
    const own = await startRendezvous()
    try {
      const a = await loggedIn(own, 'gs-a', { directLinks: false })
      await a.createChannel('gs-room').join()
      await a.setChannelAttributes('gs-room', { kept: 'yes' })
      const stored = await a.sendMessageToPeer({ text: 'for later' }, 'gs-away', { enableOfflineMessaging: true })
      expect(stored.state).toBe(PeerMessageState.CACHED_BY_SERVER)
      const reconnecting = waitForEvent(a, 'ConnectionStateChanged', (s) => s === ConnectionState.RECONNECTING)
      await own.stop() // SIGTERM
      expect(own.proc.exitCode).toBe(0)
      await reconnecting
      const back = waitForEvent(a, 'ConnectionStateChanged', (s) => s === ConnectionState.CONNECTED, 20_000)
      await own.restart()
      await back
      expect((await a.getChannelAttributes('gs-room')).kept.value).toBe('yes')
      const away = makeClient(own, { directLinks: false })
      const arrived = waitForEvent(away, 'MessageFromPeer')
      await away.login({ uid: 'gs-away', token: await own.token('gs-away') })
      const [msg] = await arrived
      expect(msg).toEqual({ messageType: 'TEXT', text: 'for later' })
    } finally {
      await stopRendezvous(own)
    }
  })
})
