import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConnectionChangeReason, ConnectionState, ErrorCode, PeerMessageState, PlazaError, createClient } from '@plaza/client'
import { mintToken } from '@plaza/protocol'
import { closeClients, loggedIn, makeClient } from '../helpers/clients.js'
import { APP_ID, SECRET, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { until, waitForEvent } from '../helpers/wait.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous({ args: ['--token-will-expire', '1500'] })
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

async function loginError(promise: Promise<unknown>): Promise<PlazaError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(PlazaError)
  return err as PlazaError
}

describe('login and logout', () => {
  it('goes CONNECTING then CONNECTED on login, and DISCONNECTED with LOGOUT on logout', async () => {
    const client = makeClient(node)
    const states: string[] = []
    client.on('ConnectionStateChanged', (s, r) => states.push(`${s}/${r}`))
    await client.login({ uid: 'ann', token: await node.token('ann') })
    expect(client.connectionState).toBe(ConnectionState.CONNECTED)
    await client.logout()
    expect(states).toEqual(['CONNECTING/LOGIN', 'CONNECTED/LOGIN_SUCCESS', 'DISCONNECTED/LOGOUT'])
  })

  it('refuses a forged token with INVALID_TOKEN and ends DISCONNECTED/LOGIN_FAILURE', async () => {
    const client = makeClient(node)
    const states: string[] = []
    client.on('ConnectionStateChanged', (s, r) => states.push(`${s}/${r}`))
    const forged = await mintToken('not-the-secret', { appId: APP_ID, uid: 'mallory' })
    const err = await loginError(client.login({ uid: 'mallory', token: forged }))
    expect(err.code).toBe(ErrorCode.INVALID_TOKEN)
    expect(states.at(-1)).toBe('DISCONNECTED/LOGIN_FAILURE')
  })

  it('refuses a token minted for another uid', async () => {
    const err = await loginError(makeClient(node).login({ uid: 'mallory', token: await node.token('alice') }))
    expect(err.code).toBe(ErrorCode.INVALID_TOKEN)
  })

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const old = await mintToken(SECRET, { appId: APP_ID, uid: 'late', ttlSeconds: 60, now: Date.now() - 120_000 })
    const err = await loginError(makeClient(node).login({ uid: 'late', token: old }))
    expect(err.code).toBe(ErrorCode.TOKEN_EXPIRED)
  })

  it('refuses an unknown app id with INVALID_APP_ID', async () => {
    const token = await mintToken(SECRET, { appId: 'other-app', uid: 'x' })
    const client = createClient('other-app', { rendezvousUrl: node.url })
    const err = await loginError(client.login({ uid: 'x', token }))
    expect(err.code).toBe(ErrorCode.INVALID_APP_ID)
  })

  it('rejects an invalid uid before connecting', async () => {
    const err = await loginError(makeClient(node).login({ uid: '', token: 'x' }))
    expect(err.code).toBe(ErrorCode.INVALID_USER_ID)
    const err2 = await loginError(makeClient(node).login({ uid: 'x'.repeat(65), token: 'x' }))
    expect(err2.code).toBe(ErrorCode.INVALID_USER_ID)
  })

  it('fails LOGIN_TIMEOUT when the node never answers', async () => {
    const { createServer } = await import('node:net')
    const silent = createServer(() => undefined)
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
    const port = (silent.address() as { port: number }).port
    const client = makeClient(node, { rendezvousUrl: `ws://127.0.0.1:${port}`, loginTimeoutMs: 500 })
    const states: string[] = []
    client.on('ConnectionStateChanged', (s, r) => states.push(`${s}/${r}`))
    await loginError(client.login({ uid: 'slow', token: await node.token('slow') }))
    expect(states.at(-1)).toBe('DISCONNECTED/LOGIN_TIMEOUT')
    silent.close()
  })
})

describe('single session per uid', () => {
  it('ends the older session with ABORTED/REMOTE_LOGIN when the same uid logs in elsewhere', async () => {
    const first = await loggedIn(node, 'dup')
    const aborted = waitForEvent<[ConnectionState, ConnectionChangeReason]>(first, 'ConnectionStateChanged', (s) => s === ConnectionState.ABORTED)
    const second = await loggedIn(node, 'dup')
    const [, reason] = await aborted
    expect(reason).toBe(ConnectionChangeReason.REMOTE_LOGIN)
    expect(second.connectionState).toBe(ConnectionState.CONNECTED)
    // The older client does not come back on its own, and messages reach the newer one.
    const other = await loggedIn(node, 'dup-friend')
    const got = waitForEvent(second, 'MessageFromPeer')
    expect((await other.sendMessageToPeer({ text: 'to the new one' }, 'dup')).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
    await got
    expect(first.connectionState).toBe(ConnectionState.ABORTED)
  })
})

describe('tokens', () => {
  it('emits TokenPrivilegeWillExpire before expiry, and renewToken keeps the session past the old expiry', async () => {
    const client = makeClient(node)
    let expired = false
    client.on('TokenExpired', () => (expired = true))
    const warned = waitForEvent(client, 'TokenPrivilegeWillExpire', () => true, 5000)
    await client.login({ uid: 'renewer', token: await node.token('renewer', 3) })
    const oldExpiry = Date.now() + 3000
    await warned
    // The renewed token warns again 1.5 s before its own expiry, which is after the old one.
    const warnedAgain = waitForEvent(client, 'TokenPrivilegeWillExpire', () => true, 8000)
    await client.renewToken(await node.token('renewer', 5))
    await warnedAgain
    expect(Date.now()).toBeGreaterThan(oldExpiry)
    expect(expired).toBe(false)
    expect(client.connectionState).toBe(ConnectionState.CONNECTED)
  })

  it('emits TokenExpired and ends ABORTED/TOKEN_EXPIRED when the token runs out', async () => {
    const client = makeClient(node)
    const expired = waitForEvent(client, 'TokenExpired', () => true, 6000)
    const aborted = waitForEvent<[ConnectionState, ConnectionChangeReason]>(client, 'ConnectionStateChanged', (s) => s === ConnectionState.ABORTED, 6000)
    await client.login({ uid: 'expirer', token: await node.token('expirer', 2) })
    await expired
    const [, reason] = await aborted
    expect(reason).toBe(ConnectionChangeReason.TOKEN_EXPIRED)
  })

  it('refuses renewToken with a token for another uid', async () => {
    const client = await loggedIn(node, 'renew-bad')
    const err = await loginError(client.renewToken(await node.token('someone-else')))
    expect(err.code).toBe(ErrorCode.INVALID_TOKEN)
    expect(client.connectionState).toBe(ConnectionState.CONNECTED)
  })
})

describe('reconnect', () => {
  it('reconnects after the rendezvous restarts, and messages flow again', async () => {
    const own = await startRendezvous()
    try {
      const alice = await loggedIn(own, 'r-alice', { directLinks: false })
      const bob = await loggedIn(own, 'r-bob', { directLinks: false })
      const aliceBack = waitForEvent(alice, 'ConnectionStateChanged', (s) => s === ConnectionState.CONNECTED, 20_000)
      const bobBack = waitForEvent(bob, 'ConnectionStateChanged', (s) => s === ConnectionState.CONNECTED, 20_000)
      const reconnecting = waitForEvent<[ConnectionState, ConnectionChangeReason]>(alice, 'ConnectionStateChanged', (s) => s === ConnectionState.RECONNECTING)
      await own.kill()
      const [, why] = await reconnecting
      expect(why).toBe(ConnectionChangeReason.INTERRUPTED)
      // Sent while the node is down: it waits in alice's outbox and goes once the node is back,
      // live if bob is back first, else through the offline store. Either way bob gets it once.
      const received: string[] = []
      bob.on('MessageFromPeer', (m) => received.push(m.messageType === 'TEXT' ? m.text : ''))
      const during = alice.sendMessageToPeer({ text: 'during the outage' }, 'r-bob', { enableOfflineMessaging: true })
      await own.restart()
      await Promise.all([aliceBack, bobBack])
      expect([PeerMessageState.RECEIVED_BY_PEER, PeerMessageState.CACHED_BY_SERVER]).toContain((await during).state)
      await until(() => received.length === 1, 5000, 'the message sent during the outage')
      const r = await alice.sendMessageToPeer({ text: 'after restart' }, 'r-bob')
      expect(r.state).toBe(PeerMessageState.RECEIVED_BY_PEER)
      expect(received).toEqual(['during the outage', 'after restart'])
    } finally {
      await stopRendezvous(own)
    }
  })
})
