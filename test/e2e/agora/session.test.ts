import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { mintToken } from '@plaza/protocol'
import AgoraRTM, {
  ConnectionChangeReason,
  ConnectionState,
  RtmInvalidArgumentError,
  RtmInvalidStatusError,
  RtmUnauthenticatedError,
} from '@plaza/agora-rtm'
import { APP_ID, SECRET, startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { waitForEvent } from '../../helpers/wait.js'
import { agoraClient, agoraLoggedIn, closeAgora, rejection, thrown } from './util.js'

let node: RendezvousProcess
beforeAll(async () => {
  // TokenPrivilegeWillExpire 1.5 s before expiry (30 s by default), so tokens of a few seconds do.
  node = await startRendezvous({ args: ['--token-will-expire', '1500'] })
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeAgora())

type StateArgs = [ConnectionState, ConnectionChangeReason]

describe('AgoraRTM.createInstance', () => {
  it('needs a rendezvous: RtmInvalidArgumentError (CREATE_INSTANCE_ERR_INVALID_ARGUMENT) until configure() names one', () => {
    const err = thrown(() => AgoraRTM.createInstance(APP_ID))
    expect(err).toBeInstanceOf(RtmInvalidArgumentError)
    expect(err.code).toBe(1)
    AgoraRTM.configure({ rendezvousUrl: node.url })
    try {
      const client = AgoraRTM.createInstance(APP_ID, { enableLogUpload: false, logFilter: AgoraRTM.LOG_FILTER_WARNING })
      expect(client.plaza.connectionState).toBe(ConnectionState.DISCONNECTED)
      // The SDK's logging and area settings are accepted and change nothing.
      client.setParameters({ enableLogUpload: true })
      client.updateConfig({ logFilter: AgoraRTM.LOG_FILTER_OFF })
      AgoraRTM.setArea({ areaCodes: [AgoraRTM.AreaCode.GLOBAL] })
      void client.plaza.destroy()
    } finally {
      AgoraRTM.configure({ rendezvousUrl: undefined })
    }
  })
})

describe('login and logout', () => {
  it('goes CONNECTING/LOGIN, CONNECTED/LOGIN_SUCCESS, then DISCONNECTED/LOGOUT, as ConnectionStateChanged(newState, reason)', async () => {
    const client = agoraClient(node)
    const seen: string[] = []
    client.on('ConnectionStateChanged', (state, reason) => seen.push(`${state}/${reason}`))
    await client.login({ uid: 'sess-a', token: await node.token('sess-a') })
    expect(seen).toEqual(['CONNECTING/LOGIN', 'CONNECTED/LOGIN_SUCCESS'])
    await client.logout()
    expect(seen.at(-1)).toBe('DISCONNECTED/LOGOUT')
  })

  it('takes the token from config.tokenProvider when login() has none', async () => {
    const asked: string[] = []
    const client = agoraClient(node, {
      tokenProvider: (uid) => {
        asked.push(uid)
        return node.token(uid)
      },
    })
    await client.login({ uid: 'sess-provided' })
    expect(asked).toEqual(['sess-provided'])
    expect(client.plaza.connectionState).toBe(ConnectionState.CONNECTED)
  })

  it('rejects with the SDK\'s LOGIN_ERR_* codes', async () => {
    const noToken = await rejection(agoraClient(node).login({ uid: 'sess-x' }))
    expect(noToken).toBeInstanceOf(RtmUnauthenticatedError)
    expect(noToken.code).toBe(5) // LOGIN_ERR_INVALID_TOKEN

    const forged = await rejection(agoraClient(node).login({ uid: 'sess-x', token: await node.token('someone-else') }))
    expect(forged).toBeInstanceOf(RtmUnauthenticatedError)
    expect(forged.code).toBe(5)

    const old = await mintToken(SECRET, { appId: APP_ID, uid: 'sess-x', ttlSeconds: 60, now: Date.now() - 120_000 })
    const expired = await rejection(agoraClient(node).login({ uid: 'sess-x', token: old }))
    expect(expired).toBeInstanceOf(RtmUnauthenticatedError)
    expect(expired.code).toBe(6) // LOGIN_ERR_TOKEN_EXPIRED

    const badUid = await rejection(agoraClient(node).login({ uid: '', token: 't' }))
    expect(badUid).toBeInstanceOf(RtmInvalidArgumentError)
    expect(badUid.code).toBe(3) // LOGIN_ERR_INVALID_ARGUMENT
    // 1.5.1: "The uid cannot be empty, or set as null or \"null\"" (a leading space is allowed there).
    const refused = await rejection(agoraClient(node).login({ uid: 'null', token: await node.token('null') }))
    expect(refused).toBeInstanceOf(RtmInvalidArgumentError)
    expect(refused.code).toBe(3)
    const spaced = agoraClient(node)
    await spaced.login({ uid: ' sess-x', token: await node.token(' sess-x') })
    await spaced.logout()

    const twice = await agoraLoggedIn(node, 'sess-twice')
    const again = await rejection(twice.login({ uid: 'sess-twice', token: await node.token('sess-twice') }))
    expect(again).toBeInstanceOf(RtmInvalidStatusError)
    expect(again.code).toBe(8) // LOGIN_ERR_ALREADY_LOGIN
    expect(twice.plaza.connectionState).toBe(ConnectionState.CONNECTED)
  })

  it('rejects logout() when not logged in with LOGOUT_ERR_USER_NOT_LOGGED_IN', async () => {
    const err = await rejection(agoraClient(node).logout())
    expect(err).toBeInstanceOf(RtmInvalidStatusError)
    expect(err.code).toBe(102)
  })

  it('ends the older session ABORTED/REMOTE_LOGIN when the same uid logs in elsewhere', async () => {
    const first = await agoraLoggedIn(node, 'sess-dup')
    const aborted = waitForEvent<StateArgs>(first, 'ConnectionStateChanged', (s) => s === ConnectionState.ABORTED)
    await agoraLoggedIn(node, 'sess-dup')
    const [, reason] = await aborted
    expect(reason).toBe(ConnectionChangeReason.REMOTE_LOGIN)
  })
})

describe('tokens', () => {
  it('emits TokenPrivilegeWillExpire, and renewToken keeps the session', async () => {
    const client = agoraClient(node)
    let expired = false
    client.on('TokenExpired', () => (expired = true))
    const warned = waitForEvent(client, 'TokenPrivilegeWillExpire', () => true, 5000)
    await client.login({ uid: 'sess-renew', token: await node.token('sess-renew', 3) })
    const oldExpiry = Date.now() + 3000
    await warned
    // The renewed token warns 1.5 s before its own expiry, which is after the old one.
    const warnedAgain = waitForEvent(client, 'TokenPrivilegeWillExpire', () => true, 8000)
    await client.renewToken(await node.token('sess-renew', 5))
    await warnedAgain
    expect(Date.now()).toBeGreaterThan(oldExpiry)
    expect(expired).toBe(false)
    expect(client.plaza.connectionState).toBe(ConnectionState.CONNECTED)
  })

  it('emits TokenExpired and ConnectionStateChanged(ABORTED, TOKEN_EXPIRED) when the token runs out', async () => {
    const client = agoraClient(node)
    const expired = waitForEvent(client, 'TokenExpired', () => true, 6000)
    const aborted = waitForEvent<StateArgs>(client, 'ConnectionStateChanged', (s) => s === ConnectionState.ABORTED, 6000)
    await client.login({ uid: 'sess-expire', token: await node.token('sess-expire', 2) })
    await expired
    expect((await aborted)[1]).toBe(ConnectionChangeReason.TOKEN_EXPIRED)
  })

  it('rejects renewToken when not logged in (RENEW_TOKEN_ERR_USER_NOT_LOGGED_IN) and for an empty token', async () => {
    const client = agoraClient(node)
    expect((await rejection(client.renewToken(await node.token('x')))).code).toBe(102)
    const loggedIn = await agoraLoggedIn(node, 'sess-renew-bad')
    const empty = await rejection(loggedIn.renewToken(''))
    expect(empty).toBeInstanceOf(RtmInvalidArgumentError)
    expect(empty.code).toBe(2)
  })
})
