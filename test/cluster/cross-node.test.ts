import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  ConnectionChangeReason,
  ConnectionState,
  LocalInvitationState,
  PeerMessageState,
  PeerOnlineState,
  RemoteInvitationState,
  type PlazaClient,
  type RemoteInvitation,
} from '@plaza/client'
import { closeClients, linkOpen, loggedIn, makeClient } from '../helpers/clients.js'
import { startProxy } from '../helpers/proxy.js'
import { APP_ID, SECRET } from '../helpers/rendezvous.js'
import { until, waitForEvent } from '../helpers/wait.js'
import { startCluster, type Cluster } from './cluster.js'

// Three node processes on one Redis; users spread over them. Every feature that crosses users
// must cross nodes.
let cluster: Cluster
beforeAll(async () => {
  cluster = await startCluster(3, ['--link-policy', 'always'])
})
afterAll(() => cluster?.stop())
afterEach(() => closeClients())

const on = (i: number) => cluster.nodes[i]
const auth = 'Basic ' + Buffer.from(`${APP_ID}:${SECRET}`).toString('base64')
async function api(i: number, method: string, path: string, body?: unknown) {
  const res = await fetch(on(i).httpUrl + path, { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}
const texts = (c: PlazaClient) => {
  const got: string[] = []
  c.on('MessageFromPeer', (m, from) => got.push(`${from}:${m.messageType === 'TEXT' ? m.text : ''}`))
  return got
}

describe('a cluster of three nodes', () => {
  it('keeps one session per user across nodes: a login elsewhere ends the older with REMOTE_LOGIN', async () => {
    const first = await loggedIn(on(0), 'x-solo')
    const aborted = waitForEvent<[ConnectionState, ConnectionChangeReason]>(first, 'ConnectionStateChanged', (s) => s === ConnectionState.ABORTED)
    await loggedIn(on(1), 'x-solo')
    expect((await aborted)[1]).toBe(ConnectionChangeReason.REMOTE_LOGIN)
    expect((await api(2, 'GET', '/v1/online-status?uids=x-solo')).body.statuses).toEqual({ 'x-solo': 'ONLINE' })
  })

  it('tells presence across nodes, and answers REST on any node', async () => {
    const watcher = await loggedIn(on(0), 'x-watch', { directLinks: false })
    const seen: string[] = []
    watcher.on('PeersOnlineStatusChanged', (states) => {
      for (const [uid, st] of Object.entries(states)) seen.push(`${uid}:${st}`)
    })
    await watcher.subscribePeersOnlineStatus(['x-target'])
    const online = waitForEvent(watcher, 'PeersOnlineStatusChanged', (st) => (st as Record<string, string>)['x-target'] === PeerOnlineState.ONLINE)
    const target = await loggedIn(on(2), 'x-target', { directLinks: false })
    await online
    expect(await watcher.queryPeersOnlineStatus(['x-target', 'x-nobody'])).toEqual({ 'x-target': 'ONLINE', 'x-nobody': 'OFFLINE' })
    const offline = waitForEvent(watcher, 'PeersOnlineStatusChanged', (st) => (st as Record<string, string>)['x-target'] === PeerOnlineState.OFFLINE)
    await target.logout()
    await offline
    expect(seen).toEqual(['x-target:OFFLINE', 'x-target:ONLINE', 'x-target:OFFLINE'].slice(seen[0] === 'x-target:OFFLINE' ? 0 : 1))
  })

  it('relays peer messages between nodes: 300 each way, exactly once, in order', async () => {
    const a = await loggedIn(on(0), 'x-ra', { directLinks: false })
    const b = await loggedIn(on(1), 'x-rb', { directLinks: false })
    const [gotA, gotB] = [texts(a), texts(b)]
    const sends = []
    for (let i = 0; i < 300; i++) {
      sends.push(a.sendMessageToPeer({ text: `a${i}` }, 'x-rb'))
      sends.push(b.sendMessageToPeer({ text: `b${i}` }, 'x-ra'))
    }
    const results = await Promise.all(sends)
    expect(new Set(results.map((r) => `${r.state}/${r.path}`))).toEqual(new Set(['RECEIVED_BY_PEER/relay']))
    expect(gotB).toEqual(Array.from({ length: 300 }, (_, i) => `x-ra:a${i}`))
    expect(gotA).toEqual(Array.from({ length: 300 }, (_, i) => `x-rb:b${i}`))
  })

  it('forms a direct link between users on different nodes (signaling crosses nodes)', async () => {
    const a = await loggedIn(on(1), 'x-da')
    const b = await loggedIn(on(2), 'x-db')
    await a.sendMessageToPeer({ text: 'hello' }, 'x-db')
    await linkOpen(a, 'x-db')
    expect(await a.sendMessageToPeer({ text: 'direct' }, 'x-db')).toMatchObject({ state: PeerMessageState.RECEIVED_BY_PEER, path: 'direct' })
    await linkOpen(b, 'x-da')
  })

  it('stores messages for a user offline, sent through one node, and hands them over at a login on another', async () => {
    const a = await loggedIn(on(0), 'x-oa', { directLinks: false })
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => a.sendMessageToPeer({ text: `o${i}` }, 'x-ob', { enableOfflineMessaging: true })))
    expect(new Set(results.map((r) => r.state))).toEqual(new Set([PeerMessageState.CACHED_BY_SERVER]))
    // Listening before the login: the stored messages come right behind its answer.
    const b = makeClient(on(2), { directLinks: false })
    const got = texts(b)
    await b.login({ uid: 'x-ob', token: await on(2).token('x-ob') })
    await until(() => got.length === 50, 10_000, 'the stored messages')
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `x-oa:o${i}`))
  })

  it('keeps a channel with members on all three nodes: events, lists, counts, messages, attributes', async () => {
    const members = await Promise.all([0, 1, 2].map((i) => loggedIn(on(i), `x-m${i}`, { directLinks: false })))
    const rooms = members.map((c) => c.createChannel('x-room'))
    await rooms[0].join()
    const joined = waitForEvent(rooms[0], 'MemberJoined', (uid) => uid === 'x-m2')
    await rooms[1].join()
    await rooms[2].join()
    await joined
    for (const r of rooms) expect((await r.getMembers()).sort()).toEqual(['x-m0', 'x-m1', 'x-m2'])
    expect(await members[0].getChannelMemberCount(['x-room'])).toEqual({ 'x-room': 3 })
    const got = rooms.map(() => [] as string[])
    rooms.forEach((r, i) => r.on('ChannelMessage', (m, from) => got[i].push(`${from}:${m.messageType === 'TEXT' ? m.text : ''}`)))
    const results = await Promise.all(rooms.map((r, i) => r.sendMessage({ text: `from ${i}` })))
    expect(results.map((r) => `${r.members}/${r.received}`)).toEqual(['2/2', '2/2', '2/2'])
    expect(got.map((g) => g.sort())).toEqual([
      ['x-m1:from 1', 'x-m2:from 2'],
      ['x-m0:from 0', 'x-m2:from 2'],
      ['x-m0:from 0', 'x-m1:from 1'],
    ])
    // Attributes written through one node are read through the others, and members hear of them.
    const updated = [1, 2].map((i) => waitForEvent(rooms[i], 'AttributesUpdated', (attrs) => (attrs as Record<string, { value: string }>).topic?.value === 'cells'))
    await members[0].addOrUpdateChannelAttributes('x-room', { topic: 'cells' }, { enableNotificationToChannelMembers: true })
    await Promise.all(updated)
    expect((await members[1].getChannelAttributes('x-room')).topic.value).toBe('cells')
    expect((await api(2, 'GET', '/v1/channels/x-room/attributes')).body.attributes.topic.value).toBe('cells')
    // A write through another node's replica builds on the first: nothing is overwritten.
    await members[2].addOrUpdateChannelAttributes('x-room', { board: 'ready' })
    expect(Object.keys((await api(0, 'GET', '/v1/channels/x-room/attributes')).body.attributes).sort()).toEqual(['board', 'topic'])
    // A member's own replica has it once the update reaches it.
    await until(async () => Object.keys(await members[0].getChannelAttributes('x-room')).length === 2, 5000, 'the member sees both')
    const all = await members[0].getChannelAttributes('x-room')
    expect(Object.fromEntries(Object.entries(all).map(([k, a]) => [k, a.value]))).toEqual({ topic: 'cells', board: 'ready' })
    // Leaving is seen on every node.
    const left = waitForEvent(rooms[0], 'MemberLeft', (uid) => uid === 'x-m2')
    await rooms[2].leave()
    await left
    expect(await members[1].getChannelMemberCount(['x-room'])).toEqual({ 'x-room': 2 })
  })

  it('loses no attribute written through different nodes at the same time (writes build on each other)', async () => {
    const writers = await Promise.all([0, 1, 2].map((i) => loggedIn(on(i), `x-w${i}`, { directLinks: false })))
    const rooms = writers.map((c) => c.createChannel('x-board'))
    for (const r of rooms) await r.join()
    // Members and non-members, through all three nodes' replicas, not waiting for each other (30 keys: a channel holds 32).
    const outsider = await loggedIn(on(1), 'x-w-out', { directLinks: false })
    await Promise.all([
      ...writers.flatMap((c, i) => Array.from({ length: 6 }, (_, k) => c.addOrUpdateChannelAttributes('x-board', { [`k${i}-${k}`]: `v${k}` }))),
      ...Array.from({ length: 6 }, (_, k) => outsider.addOrUpdateChannelAttributes('x-board', { [`out-${k}`]: 'o' })),
      ...Array.from({ length: 6 }, (_, k) => api(k % 3, 'PUT', '/v1/channels/x-board/attributes', { attributes: { [`rest-${k}`]: 'r' } })),
    ])
    const expected = 3 * 6 + 6 + 6
    // Read through every node at once after the last write was acknowledged: nothing missing.
    for (let i = 0; i < 3; i++) {
      expect(Object.keys((await api(i, 'GET', '/v1/channels/x-board/attributes')).body.attributes)).toHaveLength(expected)
    }
    await until(async () => (await Promise.all(writers.map(async (c) => Object.keys(await c.getChannelAttributes('x-board')).length))).every((n) => n === expected), 10_000, 'every member sees every key')
  })

  it('keeps a channel’s attribute limits when writes through different nodes race (32 keys, 32 KB)', async () => {
    // Found by an outside attack: each node checked its own replica, and the merge held 60 keys.
    const puts = await Promise.all(Array.from({ length: 60 }, (_, k) => api(k % 3, 'PUT', '/v1/channels/x-limits/attributes', { attributes: { [`key-${k}`]: 'v' } })))
    const accepted = puts.filter((p) => p.status === 200).length
    expect(puts.filter((p) => p.status !== 200).every((p) => p.body.error === 'ATTRIBUTES_TOO_LARGE')).toBe(true)
    const views = await Promise.all([0, 1, 2].map(async (i) => Object.keys((await api(i, 'GET', '/v1/channels/x-limits/attributes')).body.attributes).sort()))
    expect(views[0].length).toBeLessThanOrEqual(32)
    expect(views[0].length).toBe(accepted)
    expect(views[1]).toEqual(views[0])
    expect(views[2]).toEqual(views[0])
    const big = 'x'.repeat(8000)
    const bigPuts = await Promise.all(Array.from({ length: 24 }, (_, k) => api(k % 3, 'PUT', '/v1/channels/x-limits-2/attributes', { attributes: { [`big-${k}`]: big } })))
    const stored = (await api(1, 'GET', '/v1/channels/x-limits-2/attributes')).body.attributes as Record<string, { value: string }>
    const bytes = Object.entries(stored).reduce((n, [k, a]) => n + k.length + a.value.length, 0)
    expect(bytes).toBeLessThanOrEqual(32 * 1024)
    expect(Object.keys(stored).length).toBe(bigPuts.filter((p) => p.status === 200).length)
  })

  it('hands a member joining through one node the awareness of members on the others (not only at their renewal, 15 s on)', async () => {
    const [a, c, b] = await Promise.all([0, 2, 1].map((i) => loggedIn(on(i), `x-aw${i}`, { directLinks: false })))
    const [ra, rc] = [a.createChannel('x-aw'), c.createChannel('x-aw')]
    await ra.join()
    await rc.join()
    const uidsSeen = (r: typeof ra) => [...r.awareness.getStates().values()].map((st) => `${(st as { uid?: string }).uid}:${(st as { cursor?: number }).cursor ?? ''}`)
    ra.awareness.setLocalStateField('cursor', 42)
    await until(() => uidsSeen(rc).includes('x-aw0:42'), 5000, 'the state through the node')
    const rb = b.createChannel('x-aw')
    await rb.join()
    await until(() => uidsSeen(rb).includes('x-aw0:42') && uidsSeen(rb).includes('x-aw2:'), 5000, `the others' states at the join (${uidsSeen(rb)})`)
    // And a member's leaving takes its state away on every node: a later joiner does not get it.
    await ra.leave()
    await until(() => !uidsSeen(rb).some((u) => u.startsWith('x-aw0')), 5000, 'the state gone')
    const d = await loggedIn(on(1), 'x-aw3', { directLinks: false })
    const rd = d.createChannel('x-aw')
    await rd.join()
    await until(() => uidsSeen(rd).includes('x-aw2:'), 5000, 'the snapshot')
    expect(uidsSeen(rd).some((u) => u.startsWith('x-aw0'))).toBe(false)
  })

  it('reads and follows user attributes across nodes', async () => {
    const owner = await loggedIn(on(0), 'x-ua', { directLinks: false })
    const reader = await loggedIn(on(1), 'x-ub', { directLinks: false })
    await owner.setLocalUserAttributes({ mood: 'calm' })
    expect(await reader.getUserAttributes('x-ua')).toEqual({ mood: 'calm' })
    await reader.subscribeUserAttributes(['x-ua'])
    const changed = waitForEvent(reader, 'UserAttributesUpdated', (uid, attrs) => uid === 'x-ua' && (attrs as Record<string, string>).mood === 'busy')
    await owner.addOrUpdateLocalUserAttributes({ mood: 'busy' })
    await changed
  })

  it('carries call invitations between nodes, also to a callee who logs in on a third node meanwhile', async () => {
    const caller = await loggedIn(on(0), 'x-caller', { directLinks: false })
    const callee = await loggedIn(on(1), 'x-callee', { directLinks: false })
    const received = waitForEvent<[RemoteInvitation]>(callee, 'RemoteInvitationReceived')
    const inv = caller.createLocalInvitation('x-callee')
    const byPeer = waitForEvent(inv, 'LocalInvitationReceivedByPeer')
    await inv.send()
    const [remote] = await received
    await byPeer
    const accepted = waitForEvent<[string]>(inv, 'LocalInvitationAccepted')
    remote.response = 'coming'
    await remote.accept()
    expect((await accepted)[0]).toBe('coming')
    expect(remote.state).toBe(RemoteInvitationState.ACCEPTED)
    // A callee with no session yet: it logs in on another node within the offline window.
    const later = caller.createLocalInvitation('x-late')
    const refused = waitForEvent<[string]>(later, 'LocalInvitationRefused')
    await later.send()
    const late = makeClient(on(2), { directLinks: false })
    let answered: Promise<void> | null = null
    late.on('RemoteInvitationReceived', (r: RemoteInvitation) => {
      r.response = 'not now'
      answered = r.refuse()
    })
    await late.login({ uid: 'x-late', token: await on(2).token('x-late') })
    expect((await refused)[0]).toBe('not now')
    // The callee's answer is answered too (from the caller's node, through the engine).
    await until(() => answered !== null, 5000, 'the refusal')
    await answered
    expect(later.state).toBe(LocalInvitationState.REFUSED_BY_REMOTE)
  })

  it('keeps an incoming invitation from a caller on another node across the callee’s reconnect (its resync asks that node)', async () => {
    const proxy = await startProxy(on(1).port)
    try {
      const caller = await loggedIn(on(0), 'x-ic-caller', { directLinks: false })
      const callee = makeClient(on(1), { rendezvousUrl: proxy.url, directLinks: false })
      await callee.login({ uid: 'x-ic-callee', token: await on(1).token('x-ic-callee') })
      const received = waitForEvent<[RemoteInvitation]>(callee, 'RemoteInvitationReceived')
      const inv = caller.createLocalInvitation('x-ic-callee')
      const byPeer = waitForEvent(inv, 'LocalInvitationReceivedByPeer')
      await inv.send()
      const [remote] = await received
      await byPeer
      // The callee's connection drops; it resumes on the same node and asks where its invitations stand.
      const back = waitForEvent(callee, 'ConnectionStateChanged', (st) => st === ConnectionState.CONNECTED, 10_000)
      proxy.cut()
      await back
      // A request sent now is answered after that question (one connection, in order).
      await callee.queryPeersOnlineStatus(['x-ic-caller'])
      expect(remote.state).toBe(RemoteInvitationState.INVITATION_RECEIVED)
      const accepted = waitForEvent<[string]>(inv, 'LocalInvitationAccepted')
      await remote.accept()
      await accepted
    } finally {
      await proxy.close()
    }
  })

  it('answers a REST peer message sent through one node to a user on another with RECEIVED_BY_PEER', async () => {
    const b = await loggedIn(on(2), 'x-rest-b', { directLinks: false })
    const got = texts(b)
    const res = await api(0, 'POST', '/v1/peer-messages', { from: 'x-server', to: 'x-rest-b', text: 'from the app server' })
    expect(res).toMatchObject({ status: 200, body: { state: 'RECEIVED_BY_PEER' } })
    expect(got).toEqual(['x-server:from the app server'])
  })

  it('enforces a mute and a ban made through any node', async () => {
    const teacher = await loggedIn(on(0), 'x-t', { directLinks: false })
    const student = await loggedIn(on(1), 'x-s', { directLinks: false })
    const [rt, rs] = [teacher.createChannel('x-class'), student.createChannel('x-class')]
    await rt.join()
    await rs.join()
    const told = [rs, rt].map((r) => waitForEvent(r, 'MemberStateChanged', (uid, st) => uid === 'x-s' && (st as { muted: boolean }).muted))
    expect((await api(2, 'POST', '/v1/channels/x-class/members/x-s/mute', { seconds: 60 })).status).toBe(200)
    await Promise.all(told)
    expect(rt.getMemberState('x-s').muted).toBe(true)
    const aborted = waitForEvent(student, 'ConnectionStateChanged', (s) => s === ConnectionState.ABORTED)
    expect((await api(2, 'POST', '/v1/users/x-s/ban', { seconds: 60 })).status).toBe(200)
    await aborted
    const again = loggedIn(on(0), 'x-s')
    await expect(again).rejects.toMatchObject({ message: expect.stringMatching(/banned until/) })
  })
})
