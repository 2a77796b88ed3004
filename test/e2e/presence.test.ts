import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConnectionState, ErrorCode, PeerOnlineState, PlazaError, type PeersOnlineStatus } from '@plaza/client'
import { closeClients, loggedIn } from '../helpers/clients.js'
import { startProxy, type TcpProxy } from '../helpers/proxy.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { waitForEvent } from '../helpers/wait.js'

// Short liveness thresholds so the suite need not wait 30 s; the logic is the same.
let node: RendezvousProcess
let proxy: TcpProxy
beforeAll(async () => {
  node = await startRendezvous({ args: ['--unreachable-after', '1000', '--offline-after', '3000', '--ping-interval', '250'] })
})
afterAll(() => stopRendezvous(node))
afterEach(async () => {
  await closeClients()
  await proxy?.close()
})

function statusLog(client: { on(e: 'PeersOnlineStatusChanged', fn: (s: PeersOnlineStatus) => void): unknown }, uid: string) {
  const seen: PeerOnlineState[] = []
  client.on('PeersOnlineStatusChanged', (s) => {
    if (s[uid]) seen.push(s[uid])
  })
  return seen
}

const statusIs = (uid: string, state: PeerOnlineState) => (s: PeersOnlineStatus) => s[uid] === state

describe('presence query', () => {
  it('answers ONLINE or OFFLINE per id', async () => {
    const a = await loggedIn(node, 'q-a')
    await loggedIn(node, 'q-b')
    expect(await a.queryPeersOnlineStatus(['q-b', 'q-nobody'])).toEqual({
      'q-b': PeerOnlineState.ONLINE,
      'q-nobody': PeerOnlineState.OFFLINE,
    })
  })

  it('refuses more than 256 ids with TOO_MANY_IDS and stays connected', async () => {
    const a = await loggedIn(node, 'q-many')
    const ids = Array.from({ length: 257 }, (_, i) => `u${i}`)
    const err = await a.queryPeersOnlineStatus(ids).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PlazaError)
    expect((err as PlazaError).code).toBe(ErrorCode.TOO_MANY_IDS)
    expect(a.connectionState).toBe(ConnectionState.CONNECTED)
  })

  it('refuses invalid ids before sending', async () => {
    const a = await loggedIn(node, 'q-bad')
    const err = await a.queryPeersOnlineStatus(['ok', '']).catch((e: unknown) => e)
    expect((err as PlazaError).code).toBe(ErrorCode.INVALID_USER_ID)
  })
})

describe('presence subscription', () => {
  it('reports the full state at once, then ONLINE, UNREACHABLE and OFFLINE as they happen', async () => {
    const watcher = await loggedIn(node, 's-watch')
    const initial = waitForEvent<[PeersOnlineStatus]>(watcher, 'PeersOnlineStatusChanged')
    await watcher.subscribePeersOnlineStatus(['s-target'])
    expect((await initial)[0]).toEqual({ 's-target': PeerOnlineState.OFFLINE })
    expect(watcher.queryPeersBySubscriptionOption()).toEqual(['s-target'])

    proxy = await startProxy(node.port)
    const online = waitForEvent(watcher, 'PeersOnlineStatusChanged', statusIs('s-target', PeerOnlineState.ONLINE))
    await loggedIn(node, 's-target', { rendezvousUrl: proxy.url, loginTimeoutMs: 1000 })
    await online

    const unreachable = waitForEvent(watcher, 'PeersOnlineStatusChanged', statusIs('s-target', PeerOnlineState.UNREACHABLE))
    const offline = waitForEvent(watcher, 'PeersOnlineStatusChanged', statusIs('s-target', PeerOnlineState.OFFLINE))
    proxy.blackhole(true) // the network goes silent: no frames, no close
    await unreachable
    await offline
  })

  it('keeps a user who reconnects within the offline window from ever appearing OFFLINE', async () => {
    proxy = await startProxy(node.port)
    const watcher = await loggedIn(node, 'k-watch')
    const target = await loggedIn(node, 'k-target', { rendezvousUrl: proxy.url, loginTimeoutMs: 1000 })
    await watcher.subscribePeersOnlineStatus(['k-target'])
    const seen = statusLog(watcher, 'k-target')

    // Silence long enough to be UNREACHABLE, then let the network back before OFFLINE.
    const unreachable = waitForEvent(watcher, 'PeersOnlineStatusChanged', statusIs('k-target', PeerOnlineState.UNREACHABLE))
    proxy.blackhole(true)
    await unreachable
    const backOnline = waitForEvent(watcher, 'PeersOnlineStatusChanged', statusIs('k-target', PeerOnlineState.ONLINE), 5000)
    const reconnected = waitForEvent(target, 'ConnectionStateChanged', (s) => s === ConnectionState.CONNECTED, 5000)
    proxy.blackhole(false)
    proxy.cut() // the stale socket dies; the client reconnects and resumes its session
    await backOnline
    await reconnected
    expect(seen).not.toContain(PeerOnlineState.OFFLINE)
    expect(await watcher.queryPeersOnlineStatus(['k-target'])).toEqual({ 'k-target': PeerOnlineState.ONLINE })
  })

  it('reports OFFLINE at once when the user logs out', async () => {
    const watcher = await loggedIn(node, 'l-watch')
    const target = await loggedIn(node, 'l-target')
    await watcher.subscribePeersOnlineStatus(['l-target'])
    const offline = waitForEvent(watcher, 'PeersOnlineStatusChanged', statusIs('l-target', PeerOnlineState.OFFLINE), 2000)
    await target.logout()
    await offline
  })

  it('restores subscriptions after the rendezvous restarts', async () => {
    const own = await startRendezvous()
    try {
      const watcher = await loggedIn(own, 'rs-watch', { directLinks: false })
      await watcher.subscribePeersOnlineStatus(['rs-target'])
      const back = waitForEvent(watcher, 'ConnectionStateChanged', (s) => s === ConnectionState.CONNECTED, 20_000)
      await own.kill()
      await own.restart()
      await back
      const online = waitForEvent(watcher, 'PeersOnlineStatusChanged', statusIs('rs-target', PeerOnlineState.ONLINE), 10_000)
      await loggedIn(own, 'rs-target', { directLinks: false })
      await online
    } finally {
      await stopRendezvous(own)
    }
  })

  it('refuses more than 512 subscriptions in all with TOO_MANY_IDS', async () => {
    const a = await loggedIn(node, 'sub-many')
    await a.subscribePeersOnlineStatus(Array.from({ length: 500 }, (_, i) => `x${i}`))
    const err = await a.subscribePeersOnlineStatus(Array.from({ length: 20 }, (_, i) => `y${i}`)).catch((e: unknown) => e)
    expect((err as PlazaError).code).toBe(ErrorCode.TOO_MANY_IDS)
    // Already-subscribed ids do not count twice.
    await a.subscribePeersOnlineStatus(['x1', 'x2'])
    await a.unsubscribePeersOnlineStatus(['x1'])
    expect(a.queryPeersBySubscriptionOption()).toHaveLength(499)
  })

  it('refuses more than 512 ids in one call with TOO_MANY_IDS at once, sending nothing, and stays connected', async () => {
    const a = await loggedIn(node, 'sub-one-call')
    const ids = Array.from({ length: 513 }, (_, i) => `z${i}`)
    // Thrown before any request: the node cannot read a frame of 513 ids, and the call used to wait 10 s for TIMEOUT.
    const err = await a.subscribePeersOnlineStatus(ids).catch((e: unknown) => e)
    expect((err as PlazaError).code).toBe(ErrorCode.TOO_MANY_IDS)
    expect(a.connectionState).toBe(ConnectionState.CONNECTED)
    expect(a.queryPeersBySubscriptionOption()).toHaveLength(0)
    expect(await a.queryPeersOnlineStatus(['sub-one-call'])).toEqual({ 'sub-one-call': PeerOnlineState.ONLINE })
  })
})
