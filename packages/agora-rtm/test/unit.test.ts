import { describe, expect, it } from 'vitest'
import { ErrorCode, PlazaError } from '@plaza/protocol'
import { EventEmitter } from '../src/emitter.js'
import {
  RtmErrorCode,
  RtmInvalidArgumentError,
  RtmInvalidStatusError,
  RtmInvokeTooOftenError,
  RtmLimitExceededError,
  RtmTimeoutError,
  RtmUnauthenticatedError,
  toRtmError,
} from '../src/errors.js'
import { MediaBook, createMessage, toPlaza } from '../src/messages.js'

describe('toRtmError', () => {
  it('gives the SDK class and the operation\'s 1.5.1 code for each Plaza error', () => {
    const cases: [Parameters<typeof toRtmError>[0], ErrorCode, Function, number][] = [
      ['LOGIN', ErrorCode.INVALID_TOKEN, RtmUnauthenticatedError, 5],
      ['LOGIN', ErrorCode.TOKEN_EXPIRED, RtmUnauthenticatedError, 6],
      ['LOGIN', ErrorCode.ALREADY_LOGGED_IN, RtmInvalidStatusError, 8],
      ['LOGIN', ErrorCode.TIMEOUT, RtmTimeoutError, 9],
      ['LOGIN', ErrorCode.INVALID_USER_ID, RtmInvalidArgumentError, 3],
      ['JOIN_CHANNEL', ErrorCode.ALREADY_IN_CHANNEL, RtmInvalidStatusError, 6],
      ['JOIN_CHANNEL', ErrorCode.TOO_MANY_CHANNELS, RtmLimitExceededError, 5],
      ['JOIN_CHANNEL', ErrorCode.TOO_OFTEN, RtmInvokeTooOftenError, 7],
      ['CHANNEL_MESSAGE', ErrorCode.NOT_IN_CHANNEL, RtmInvalidStatusError, 5],
      ['ATTRIBUTE_OPERATION', ErrorCode.ATTRIBUTES_TOO_LARGE, RtmLimitExceededError, 4],
      ['ATTRIBUTE_OPERATION', ErrorCode.NOT_LOGGED_IN, RtmInvalidStatusError, 102],
      ['PEER_SUBSCRIPTION_STATUS', ErrorCode.TOO_MANY_IDS, RtmLimitExceededError, 6],
      ['GET_CHANNEL_MEMBER_COUNT', ErrorCode.TOO_MANY_IDS, RtmLimitExceededError, 5],
    ]
    for (const [op, code, Cls, agoraCode] of cases) {
      const err = toRtmError(op, new PlazaError(code, 'x'))
      expect(err, `${op} ${ErrorCode[code]}`).toBeInstanceOf(Cls)
      expect(err.code, `${op} ${ErrorCode[code]}`).toBe(agoraCode)
      expect(err.plazaCode).toBe(ErrorCode[code])
      expect(err.name).toBe(new (Cls as new (m: string) => Error)('x').name)
    }
  })

  it('names errors as the SDK does and keeps the Plaza error', () => {
    const original = new PlazaError(ErrorCode.TOO_OFTEN)
    const err = toRtmError('PEER_MESSAGE', original)
    expect(err.name).toBe('RtmInvokeTooOftenError')
    expect(err.code).toBe(RtmErrorCode.PEER_MESSAGE.often)
    expect(err.originalError).toBe(original)
    expect(err).toBeInstanceOf(Error)
  })
})

describe('createMessage', () => {
  it('fills in messageType from the fields, as the SDK does', () => {
    expect(createMessage({ text: 'hi' })).toEqual({ text: 'hi', messageType: 'TEXT' })
    const raw = new Uint8Array([1, 2])
    expect(createMessage({ rawMessage: raw, description: 'd' })).toEqual({ rawMessage: raw, description: 'd', messageType: 'RAW' })
  })

  it('rejects what is not a message with RtmInvalidArgumentError', () => {
    expect(() => createMessage({} as never)).toThrow(RtmInvalidArgumentError)
    expect(() => createMessage({ text: 'a', rawMessage: new Uint8Array(1) } as never)).toThrow(RtmInvalidArgumentError)
    expect(() => createMessage({ messageType: 'RAW', rawMessage: 'no' } as never)).toThrow(RtmInvalidArgumentError)
    expect(() => createMessage(null as never)).toThrow(RtmInvalidArgumentError)
  })

  it('refuses a media message whose mediaId this client never made or received', () => {
    expect(() =>
      toPlaza({ messageType: 'FILE', mediaId: 'nope', fileName: 'f', description: '', size: 1, thumbnail: undefined }, new MediaBook(), 'PEER_MESSAGE'),
    ).toThrow(/unknown mediaId/)
  })
})

describe('EventEmitter', () => {
  type E = { A: [n: number] }
  class Probe extends EventEmitter<E> {
    fire(n: number) {
      this._emit('A', n)
    }
  }

  it('calls a listener added twice twice, once() listeners once, and off() removes one at a time', () => {
    const p = new Probe()
    const got: number[] = []
    const fn = (n: number) => got.push(n)
    p.on('A', fn).on('A', fn)
    p.once('A', (n) => got.push(n * 10))
    expect(p.listenerCount('A')).toBe(3)
    p.fire(1)
    expect(got).toEqual([1, 1, 10])
    p.off('A', fn)
    p.fire(2)
    expect(got).toEqual([1, 1, 10, 2])
    p.removeAllListeners()
    p.fire(3)
    expect(got).toEqual([1, 1, 10, 2])
  })

  it('lists once() listeners as given (listeners) and as wrapped (rawListeners); off() takes either', () => {
    const p = new Probe()
    const fn = () => undefined
    p.once('A', fn)
    expect(p.listeners('A')).toEqual([fn])
    expect(p.rawListeners('A')[0]).not.toBe(fn)
    p.off('A', fn)
    expect(p.listenerCount('A')).toBe(0)
  })
})

describe('peer message outcomes', () => {
  it('a message in flight at logout may have arrived: a timeout, not "not logged in"', async () => {
    const { sendOutcome } = await import('../src/client.js')
    const { PeerMessageState } = await import('@plaza/protocol')
    expect(() => sendOutcome(PeerMessageState.NOT_LOGGED_IN, true)).toThrow(RtmTimeoutError)
    expect(() => sendOutcome(PeerMessageState.NOT_LOGGED_IN, false)).toThrow(RtmInvalidStatusError)
    expect(sendOutcome(PeerMessageState.CACHED_BY_SERVER, true)).toEqual({ hasPeerReceived: false })
  })
})

describe('attribute keys', () => {
  it('a ...ByKeys call with keys that are not an array of strings rejects RtmInvalidArgumentError', async () => {
    const { RtmClient } = await import('../src/client.js')
    const client = new RtmClient('app', { rendezvousUrl: 'ws://127.0.0.1:9' })
    await expect(client.getChannelAttributesByKeys('room', 'notarray' as unknown as string[])).rejects.toBeInstanceOf(RtmInvalidArgumentError)
    await expect(client.getUserAttributesByKeys('u', [1] as unknown as string[])).rejects.toBeInstanceOf(RtmInvalidArgumentError)
  })
})

describe('ids as 1.5.1 takes them', () => {
  it('refuses the id "null" wherever a user or channel is named, with the operation\'s invalid-argument code', async () => {
    const { RtmClient } = await import('../src/client.js')
    const client = new RtmClient('app', { rendezvousUrl: 'ws://127.0.0.1:9' })
    const code = async (p: Promise<unknown> | (() => unknown)) => {
      try {
        await (typeof p === 'function' ? p() : p)
      } catch (e) {
        expect(e).toBeInstanceOf(RtmInvalidArgumentError)
        return (e as RtmInvalidArgumentError).code
      }
      throw new Error('not refused')
    }
    expect(await code(client.login({ uid: 'null', token: 't' }))).toBe(3) // LOGIN_ERR_INVALID_ARGUMENT
    expect(await code(() => client.createChannel('null'))).toBe(1) // CREATE_CHANNEL_ERR_INVALID_ARGUMENT
    expect(await code(() => client.createLocalInvitation('null'))).toBe(1) // INVITATION_API_CALL_ERR_INVALID_ARGUMENT
    expect(await code(client.sendMessageToPeer({ text: 'x' }, 'null'))).toBe(6) // PEER_MESSAGE_ERR_INVALID_USERID
    expect(await code(client.queryPeersOnlineStatus(['a', 'null']))).toBe(2) // QUERY_PEERS_ONLINE_STATUS_ERR_INVALID_ARGUMENT
    expect(await code(client.subscribePeersOnlineStatus(['null']))).toBe(2) // PEER_SUBSCRIPTION_STATUS_ERR_INVALID_ARGUMENT
    expect(await code(client.getUserAttributes('null'))).toBe(3) // ATTRIBUTE_OPERATION_ERR_INVALID_ARGUMENT
    expect(await code(client.getChannelAttributes('null'))).toBe(3)
    expect(await code(client.getChannelMemberCount(['room', 'null']))).toBe(2) // GET_CHANNEL_MEMBER_COUNT_ERR_INVALID_ARGUMENT
    const invitation = client.createLocalInvitation('bob')
    invitation.channelId = 'null'
    expect(await code(() => invitation.send())).toBe(1)
    // More than 256 ids to query: an invalid argument in 1.5.1, not a limit.
    expect(await code(client.queryPeersOnlineStatus(Array.from({ length: 257 }, (_, i) => `u${i}`)))).toBe(2)
  })

  it('takes ids that start with a space, as 1.5.1 does (a login as one: the e2e session test)', async () => {
    const { RtmClient } = await import('../src/client.js')
    const client = new RtmClient('app', { rendezvousUrl: 'ws://127.0.0.1:9' })
    expect(client.createChannel(' room').channelId).toBe(' room')
    expect(client.createLocalInvitation(' bob').calleeId).toBe(' bob')
  })
})

describe('logout while logging in', () => {
  it('a logout() while the token is being fetched stops that login (it does not complete afterwards)', async () => {
    const { RtmClient } = await import('../src/client.js')
    let give: (t: string) => void = () => undefined
    const client = new RtmClient('app', { rendezvousUrl: 'ws://127.0.0.1:9', tokenProvider: () => new Promise<string>((r) => (give = r)) })
    const login = client.login({ uid: 'alice' })
    await new Promise((r) => setTimeout(r, 0))
    await client.logout() // resolves: the login under way is abandoned
    give('token')
    await expect(login).rejects.toThrow(/logout\(\) was called while logging in/)
    expect(client.plaza.connectionState).toBe('DISCONNECTED')
  })
})
