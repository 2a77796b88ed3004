/**
 * The /y-webrtc endpoint frame by frame, from raw sockets: y-webrtc's protocol (relay with
 * `clients`, ping/pong, unsubscribe), apps kept apart, token policies, limits and liveness.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintToken } from '@plaza/protocol'
import { APP_ID, SECRET, startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { RawY } from '../../helpers/ywebrtc.js'
import { metric } from '../../bench/lib.js'

let node: RendezvousProcess
const raws: RawY[] = []

beforeAll(async () => {
  node = await startRendezvous({
    args: [
      '--app=other-app:other-secret',
      '--ywebrtc-auth',
      `${APP_ID}=required`,
      '--ywebrtc-auth=off-app=off',
      '--ywebrtc-limit',
      'topicsPerSocket=3',
      '--ywebrtc-limit=subscribersPerTopic=2',
      '--ywebrtc-limit=framesPerSecond=40',
      '--ywebrtc-limit=topicBytes=16',
      '--ywebrtc-limit=pingIntervalMs=300',
    ],
  })
})
afterAll(async () => {
  for (const r of raws) r.close()
  await stopRendezvous(node)
})

async function open(query = ''): Promise<RawY> {
  const r = await RawY.open(`${node.url}/y-webrtc${query}`)
  raws.push(r)
  return r
}

/** A round trip: every frame sent before it has been taken. */
async function synced(r: RawY): Promise<void> {
  r.send({ type: 'ping' })
  await r.next((f) => f.type === 'pong')
}

describe('y-webrtc protocol', () => {
  it('relays a publish to every subscriber of its topic with clients = the subscriber count, fields kept', async () => {
    const [a, b, c] = [await open(), await open(), await open()]
    a.send({ type: 'subscribe', topics: ['t1'] })
    b.send({ type: 'subscribe', topics: ['t1', 't2'] })
    await Promise.all([synced(a), synced(b)])
    c.send({ type: 'publish', topic: 't1', data: { type: 'announce', from: 'c' }, extra: [1, 'two'] })
    for (const r of [a, b]) {
      const got = await r.next((f) => f.type === 'publish')
      expect(got).toEqual({ type: 'publish', topic: 't1', data: { type: 'announce', from: 'c' }, extra: [1, 'two'], clients: 2 })
    }
    // The sender hears its own publish when subscribed, as with y-webrtc's server.
    b.send({ type: 'publish', topic: 't2', data: 'x', clients: 99 })
    expect(await b.next((f) => f.type === 'publish')).toEqual({ type: 'publish', topic: 't2', data: 'x', clients: 1 })
    // Unsubscribed: no more.
    a.send({ type: 'unsubscribe', topics: ['t1'] })
    await synced(a)
    c.send({ type: 'publish', topic: 't1', data: 'after' })
    expect((await b.next((f) => f.type === 'publish')).clients).toBe(1)
    await synced(a)
    expect(a.frames.filter((f) => f.type === 'publish')).toEqual([])
  })

  it('answers ping with pong, and a subscribe to no topics is fine (y-webrtc sends one when it has no rooms)', async () => {
    const r = await open()
    r.send({ type: 'subscribe', topics: [] })
    r.send({ type: 'ping' })
    expect(await r.next(() => true)).toEqual({ type: 'pong' })
  })

  it('keeps apps apart: the same topic name in two apps are two topics', async () => {
    const anon = await open()
    const offApp = await open('?app=off-app')
    const token = await mintToken(SECRET, { appId: APP_ID, uid: 'u1' })
    const authed = await open(`?token=${token}`)
    for (const r of [anon, offApp, authed]) r.send({ type: 'subscribe', topics: ['shared'] })
    await Promise.all([anon, offApp, authed].map(synced))
    authed.send({ type: 'publish', topic: 'shared', data: 'for test-app' })
    expect((await authed.next((f) => f.type === 'publish')).clients).toBe(1)
    await Promise.all([anon, offApp].map(synced))
    expect([...anon.frames, ...offApp.frames].filter((f) => f.type === 'publish')).toEqual([])
  })
})

describe('authentication', () => {
  const status = (query: string) =>
    RawY.open(`${node.url}/y-webrtc${query}`).then(
      (r) => (r.close(), 101),
      (e: Error) => Number(/HTTP (\d+)/.exec(e.message)?.[1] ?? 0),
    )

  it('required: a valid token of the app, else 401', async () => {
    expect(await status(`?app=${APP_ID}`)).toBe(401)
    expect(await status(`?app=${APP_ID}&token=nonsense`)).toBe(401)
    expect(await status(`?app=${APP_ID}&token=${await mintToken('wrong-secret', { appId: APP_ID, uid: 'u' })}`)).toBe(401)
    expect(await status(`?app=${APP_ID}&token=${await mintToken(SECRET, { appId: APP_ID, uid: 'u', ttlSeconds: -10 })}`)).toBe(401)
    expect(await status(`?app=${APP_ID}&token=${await mintToken(SECRET, { appId: APP_ID, uid: 'u' })}`)).toBe(101)
  })

  it('optional (the default): no token is fine, a bad one is refused; off: tokens are not looked at', async () => {
    expect(await status('')).toBe(101)
    expect(await status('?app=other-app')).toBe(101)
    expect(await status(`?app=other-app&token=${await mintToken('nope', { appId: 'other-app', uid: 'u' })}`)).toBe(401)
    expect(await status(`?app=other-app&token=${await mintToken('other-secret', { appId: 'other-app', uid: 'u' })}`)).toBe(101)
    expect(await status('?app=off-app&token=nonsense')).toBe(101)
    expect(await status(`?app=${'x'.repeat(100)}`)).toBe(400)
    expect(await metric(node, 'plaza_ywebrtc_refused_total', 'reason="auth"')).toBeGreaterThanOrEqual(6)
  })

  it('closes a socket whose token expired (4005)', async () => {
    const r = await open(`?token=${await mintToken(SECRET, { appId: APP_ID, uid: 'brief', ttlSeconds: 2 })}`)
    expect(await r.closed(5000)).toBe(4005)
  })
})

describe('limits', () => {
  it('topics per socket, subscribers per topic and topic length are refused with their codes', async () => {
    const a = await open()
    a.send({ type: 'subscribe', topics: ['l1', 'l2', 'l3', 'l4'] })
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ code: 'TOO_MANY_CHANNELS' })
    a.send({ type: 'subscribe', topics: ['l1', 'l2', 'l3'] })
    a.send({ type: 'subscribe', topics: ['l4'] })
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ code: 'TOO_MANY_CHANNELS' })
    a.send({ type: 'subscribe', topics: ['x'.repeat(17)] })
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ code: 'INVALID_CHANNEL_ID' })

    const [b, c, d] = [await open(), await open(), await open()]
    b.send({ type: 'subscribe', topics: ['full'] })
    c.send({ type: 'subscribe', topics: ['full'] })
    await Promise.all([synced(b), synced(c)])
    d.send({ type: 'subscribe', topics: ['full'] })
    expect(await d.next((f) => f.type === 'error')).toMatchObject({ code: 'QUOTA_EXCEEDED' })
    // Once one leaves there is room.
    b.send({ type: 'unsubscribe', topics: ['full'] })
    await synced(b)
    d.send({ type: 'subscribe', topics: ['full'] })
    await synced(d)
    c.send({ type: 'publish', topic: 'full', data: 1 })
    expect((await d.next((f) => f.type === 'publish')).clients).toBe(2)
  })

  it('frames past framesPerSecond get one TOO_OFTEN and are dropped; the socket stays', async () => {
    const [a, b] = [await open(), await open()]
    b.send({ type: 'subscribe', topics: ['rate'] })
    await synced(b)
    for (let i = 0; i < 100; i++) a.send({ type: 'publish', topic: 'rate', data: i })
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ code: 'TOO_OFTEN' })
    // The 100 frames came within one second: the first 40 went through.
    await b.next((f) => f.type === 'publish' && f.data === 39)
    await new Promise((r) => setTimeout(r, 1100))
    expect(b.frames.filter((f) => f.type === 'publish')).toEqual([])
    // A new second: a's frames go through again, and it heard TOO_OFTEN once.
    await synced(a)
    expect(a.frames.filter((f) => f.type === 'error')).toEqual([])
    expect(a.closeCode).toBe(0)
  })

  it('a socket that does not answer WebSocket pings is closed', async () => {
    const r = await open()
    const sub = await open()
    sub.send({ type: 'subscribe', topics: ['alive'] })
    await synced(sub)
    // Stop reading: the node's pings go unanswered.
    ;(r.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    const sockets = () => metric(node, 'plaza_ywebrtc_sockets')
    const before = await sockets()
    const t0 = Date.now()
    while ((await sockets()) >= before && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 100))
    expect(await sockets()).toBe(before - 1)
    // The one that answers stays.
    await synced(sub)
  })
})

describe("the node's connection limits", () => {
  it('count y-webrtc sockets, and give the place back when one closes or is refused', async () => {
    const small = await startRendezvous({ args: ['--max-connections-per-address=3', '--ywebrtc-auth=required'] })
    try {
      const url = `${small.url}/y-webrtc?app=${APP_ID}`
      const token = await mintToken(SECRET, { appId: APP_ID, uid: 'u' })
      // A place is given back when the node sees the socket close, a moment after the client does.
      const openEventually = async (): Promise<RawY> => {
        for (let i = 0; ; i++) {
          try {
            return await RawY.open(`${url}&token=${token}`)
          } catch (err) {
            if (i >= 100 || !String(err).includes('HTTP 503')) throw err
            await new Promise((r) => setTimeout(r, 50))
          }
        }
      }
      // Refused handshakes (no token) hold no place.
      for (let i = 0; i < 5; i++) await expect(RawY.open(url)).rejects.toThrow('HTTP 401')
      const held = [await openEventually(), await openEventually(), await openEventually()]
      await expect(RawY.open(`${url}&token=${token}`)).rejects.toThrow('HTTP 503')
      held[0].ws.close()
      await held[0].closed()
      const again = await openEventually()
      for (const r of [...held, again]) r.close()
    } finally {
      await stopRendezvous(small)
    }
  })
})
