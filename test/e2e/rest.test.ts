import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PeerMessageState, type ChannelAttributes } from '@plaza/client'
import { closeClients, loggedIn, makeClient } from '../helpers/clients.js'
import { APP_ID, SECRET, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { until, waitForEvent } from '../helpers/wait.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

const auth = 'Basic ' + Buffer.from(`${APP_ID}:${SECRET}`).toString('base64')

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: auth }) {
  const res = await fetch(node.httpUrl + path, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}

describe('REST API', () => {
  it('refuses requests without the app secret with 401', async () => {
    expect((await api('GET', '/v1/online-status?uids=a', undefined, {})).status).toBe(401)
    const wrong = 'Basic ' + Buffer.from(`${APP_ID}:nope`).toString('base64')
    const r = await api('GET', '/v1/online-status?uids=a', undefined, { authorization: wrong })
    expect(r).toMatchObject({ status: 401, body: { error: 'INVALID_TOKEN' } })
  })

  it('POST /v1/peer-messages delivers live (RECEIVED_BY_PEER), stores offline (CACHED_BY_SERVER) or says PEER_UNREACHABLE', async () => {
    const bob = await loggedIn(node, 'rest-bob')
    const got = waitForEvent(bob, 'MessageFromPeer')
    const live = await api('POST', '/v1/peer-messages', { from: 'system', to: 'rest-bob', text: 'hello from the server' })
    expect(live).toMatchObject({ status: 200, body: { state: PeerMessageState.RECEIVED_BY_PEER } })
    const [msg, from, props] = await got
    expect([msg, from]).toEqual([{ messageType: 'TEXT', text: 'hello from the server' }, 'system'])
    expect(props).toMatchObject({ path: 'relay', isOfflineMessage: false })

    const raw = await api('POST', '/v1/peer-messages', { from: 'system', to: 'rest-bob', raw: Buffer.from([1, 2, 3]).toString('base64'), description: 'bin' })
    expect(raw.body.state).toBe(PeerMessageState.RECEIVED_BY_PEER)

    expect((await api('POST', '/v1/peer-messages', { from: 'system', to: 'rest-away', text: 'x' })).body.state).toBe(PeerMessageState.PEER_UNREACHABLE)
    const cached = await api('POST', '/v1/peer-messages', { from: 'system', to: 'rest-away', text: 'kept', enableOfflineMessaging: true })
    expect(cached.body.state).toBe(PeerMessageState.CACHED_BY_SERVER)
    const away = makeClient(node)
    const arrived = waitForEvent(away, 'MessageFromPeer')
    await away.login({ uid: 'rest-away', token: await node.token('rest-away') })
    const [m2, , p2] = await arrived
    expect(m2).toEqual({ messageType: 'TEXT', text: 'kept' })
    expect(p2).toMatchObject({ isOfflineMessage: true })
  })

  it('POST /v1/peer-messages refuses bad input with 400 and a code', async () => {
    expect(await api('POST', '/v1/peer-messages', { from: '', to: 'x', text: 'x' })).toMatchObject({ status: 400, body: { error: 'INVALID_USER_ID' } })
    expect(await api('POST', '/v1/peer-messages', { from: 'a', to: 'b' })).toMatchObject({ status: 400, body: { error: 'INVALID_MESSAGE' } })
    expect(await api('POST', '/v1/peer-messages', { from: 'a', to: 'b', text: 'x'.repeat(32 * 1024 + 1) })).toMatchObject({ status: 400, body: { error: 'INVALID_MESSAGE' } })
    expect(await api('POST', '/v1/peer-messages', '{not json')).toMatchObject({ status: 400, body: { error: 'MALFORMED_FRAME' } })
    expect((await api('POST', '/v1/peer-messages', 'x'.repeat(70_000))).status).toBe(413)
    expect((await api('GET', '/v1/peer-messages')).status).toBe(405)
    expect((await api('GET', '/v1/nothing-here')).status).toBe(404)
  })

  it('POST /v1/channel-messages reaches every member', async () => {
    const a = await loggedIn(node, 'rc-a')
    const b = await loggedIn(node, 'rc-b')
    const ca = a.createChannel('rest-room')
    const cb = b.createChannel('rest-room')
    await ca.join()
    await cb.join()
    const ga = waitForEvent(ca, 'ChannelMessage')
    const gb = waitForEvent(cb, 'ChannelMessage')
    const r = await api('POST', '/v1/channel-messages', { from: 'announcer', channel: 'rest-room', text: 'class starts' })
    expect(r).toMatchObject({ status: 200, body: { members: 2 } })
    expect(await ga).toEqual([{ messageType: 'TEXT', text: 'class starts' }, 'announcer'])
    expect(await gb).toEqual([{ messageType: 'TEXT', text: 'class starts' }, 'announcer'])
  })

  it('GET online status, member counts and members', async () => {
    const a = await loggedIn(node, 'rq-a')
    await a.createChannel('rq-room').join()
    expect((await api('GET', '/v1/online-status?uids=rq-a,rq-nobody')).body).toEqual({ statuses: { 'rq-a': 'ONLINE', 'rq-nobody': 'OFFLINE' } })
    expect((await api('GET', '/v1/channels/member-counts?channels=rq-room,rq-empty')).body).toEqual({ counts: { 'rq-room': 1, 'rq-empty': 0 } })
    expect((await api('GET', '/v1/channels/rq-room/members')).body).toEqual({ count: 1, members: ['rq-a'] })
    expect((await api('GET', '/v1/online-status')).status).toBe(400)
  })

  it('GET user attributes (404 when the user is not logged in)', async () => {
    const a = await loggedIn(node, 'ru-a')
    await a.setLocalUserAttributes({ role: 'teacher' })
    expect((await api('GET', '/v1/users/ru-a/attributes')).body).toEqual({ attributes: { role: 'teacher' } })
    expect(await api('GET', '/v1/users/ru-nobody/attributes')).toMatchObject({ status: 404, body: { error: 'PEER_OFFLINE' } })
  })

  it('PUT and GET channel attributes; members are told', async () => {
    const a = await loggedIn(node, 'ra-a')
    const ch = a.createChannel('ra-room')
    await ch.join()
    const told = waitForEvent<[ChannelAttributes]>(ch, 'AttributesUpdated')
    const put = await api('PUT', '/v1/channels/ra-room/attributes', {
      attributes: { slide: '3' },
      enableNotificationToChannelMembers: true,
      updatedBy: 'admin',
    })
    expect(put).toMatchObject({ status: 200, body: { ok: true } })
    expect((await told)[0].slide).toMatchObject({ value: '3', lastUpdateUserId: 'admin' })
    const got = await api('GET', '/v1/channels/ra-room/attributes')
    expect(got.body.attributes.slide).toMatchObject({ value: '3', lastUpdateUserId: 'admin' })
    await api('PUT', '/v1/channels/ra-room/attributes', { op: 'deleteByKeys', keys: ['slide'] })
    await until(async () => Object.keys(await a.getChannelAttributes('ra-room')).length === 0, 5000, 'delete')
    expect(await api('PUT', '/v1/channels/ra-room/attributes', { attributes: { k: 'x'.repeat(9000) } })).toMatchObject({ status: 400, body: { error: 'ATTRIBUTES_TOO_LARGE' } })
    expect(await api('PUT', '/v1/channels/ra-room/attributes', { op: 'explode' })).toMatchObject({ status: 400, body: { error: 'INVALID_ARGUMENT' } })
  })
})

describe('REST and metrics options', () => {
  it('--rest-rate-limit bounds requests per app (429 TOO_OFTEN); --metrics-token guards /metrics', async () => {
    const own = await startRendezvous({ args: ['--rest-rate-limit', '5/60000', '--metrics-token', 'scrape-me'] })
    try {
      const statuses: number[] = []
      for (let i = 0; i < 7; i++) {
        const res = await fetch(`${own.httpUrl}/v1/online-status?uids=a`, { headers: { authorization: auth } })
        statuses.push(res.status)
        if (res.status === 429) expect(await res.json()).toMatchObject({ error: 'TOO_OFTEN' })
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429])
      expect((await fetch(`${own.httpUrl}/metrics`)).status).toBe(401)
      expect((await fetch(`${own.httpUrl}/metrics`, { headers: { authorization: 'Bearer wrong-one' } })).status).toBe(401)
      const ok = await fetch(`${own.httpUrl}/metrics`, { headers: { authorization: 'Bearer scrape-me' } })
      expect(ok.status).toBe(200)
      expect(await ok.text()).toContain('plaza_rest_requests_total')
    } finally {
      await stopRendezvous(own)
    }
  })
})
