import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConnectionChangeReason, ConnectionState, ErrorCode, PlazaError, type PlazaClient } from '@plaza/client'
import type { Grants } from '@plaza/protocol'
import { closeClients, linkOpen, loggedIn, makeClient } from '../helpers/clients.js'
import { textFrame } from '../helpers/raw-client.js'
import { APP_ID, SECRET, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { waitForEvent } from '../helpers/wait.js'
import { metric } from '../hostile/util.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

const auth = 'Basic ' + Buffer.from(`${APP_ID}:${SECRET}`).toString('base64')
async function api(method: string, path: string, body: unknown = {}) {
  const res = await fetch(node.httpUrl + path, { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: method === 'GET' ? undefined : JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}
async function as(uid: string, grants: Grants = {}, opts = {}): Promise<PlazaClient> {
  const c = makeClient(node, opts)
  await c.login({ uid, token: await node.token(uid, 3600, grants) })
  return c
}
const codeOf = (p: Promise<unknown>) => p.then(() => 'OK', (e) => (e instanceof PlazaError ? ErrorCode[e.code] : String(e)))
const overLink = (c: PlazaClient, to: string, bytes: Uint8Array) => (c as unknown as { mesh: { send(uid: string, b: Uint8Array): boolean } }).mesh.send(to, bytes)

describe('kick and ban (REST)', () => {
  it('a kick ends the session ABORTED / BANNED_BY_SERVER', async () => {
    const bo = await loggedIn(node, 'mk-bo')
    const aborted = waitForEvent<[ConnectionState, ConnectionChangeReason]>(bo, 'ConnectionStateChanged', (s) => s === ConnectionState.ABORTED)
    expect(await api('POST', '/v1/users/mk-bo/kick')).toMatchObject({ status: 200, body: { kicked: true } })
    expect((await aborted)[1]).toBe(ConnectionChangeReason.BANNED_BY_SERVER)
  })

  it('a ban ends the session and refuses logins (BANNED, saying until when), across a node restart, until lifted', async () => {
    const bo = await loggedIn(node, 'mb-bo')
    const aborted = waitForEvent(bo, 'ConnectionStateChanged', (s) => s === ConnectionState.ABORTED)
    const ban = await api('POST', '/v1/users/mb-bo/ban', { seconds: 600 })
    expect(ban.status).toBe(200)
    expect(ban.body.until).toBeGreaterThan(Date.now() + 590_000)
    await aborted
    const again = makeClient(node)
    const err = await again.login({ uid: 'mb-bo', token: await node.token('mb-bo') }).catch((e: PlazaError) => e)
    expect(err).toBeInstanceOf(PlazaError)
    expect((err as PlazaError).code).toBe(ErrorCode.BANNED)
    expect((err as PlazaError).message).toMatch(/banned until 20\d\d-/)
    await node.kill()
    await node.restart()
    const afterRestart = makeClient(node)
    expect(await codeOf(afterRestart.login({ uid: 'mb-bo', token: await node.token('mb-bo') }))).toBe('BANNED')
    expect(await api('DELETE', '/v1/users/mb-bo/ban')).toMatchObject({ status: 200, body: { lifted: true } })
    const back = makeClient(node)
    expect(await codeOf(back.login({ uid: 'mb-bo', token: await node.token('mb-bo') }))).toBe('OK')
    expect(await metric(node, 'plaza_moderation_actions_total', 'action="unban"')).toBe(1)
  })
})

describe('in a channel', () => {
  it('a muted member’s messages reach no one, over direct links or the relay; unmuted, they do again', async () => {
    const ada = await as('mm-ada', { role: 'teacher', moderate: ['mm-*'] })
    const bo = await as('mm-bo', { role: 'student' })
    const cy = await as('mm-cy', { role: 'student' }, { directLinks: false })
    const [ra, rb, rc] = [ada.createChannel('mm-room'), bo.createChannel('mm-room'), cy.createChannel('mm-room')]
    await ra.join()
    await rb.join()
    await rc.join()
    expect(rb.getMemberState('mm-ada')).toEqual({ role: 'teacher', muted: false, mayPublish: true })
    // A direct link Bo–Ada (Cy has none: only the relay reaches him).
    await bo.sendMessageToPeer({ text: 'hello' }, 'mm-ada')
    await linkOpen(bo, 'mm-ada')
    await linkOpen(ada, 'mm-bo')

    const seenByAda: string[] = []
    const seenByCy: string[] = []
    ra.on('ChannelMessage', (m, from) => seenByAda.push(`${from}:${m.messageType === 'TEXT' ? m.text : ''}`))
    rc.on('ChannelMessage', (m, from) => seenByCy.push(`${from}:${m.messageType === 'TEXT' ? m.text : ''}`))

    const told = Promise.all([rb, rc].map((r) => waitForEvent(r, 'MemberStateChanged', (uid, st) => uid === 'mm-bo' && (st as { muted: boolean }).muted)))
    await ra.muteMember('mm-bo', { seconds: 300 })
    await told
    expect(rb.getMemberState('mm-bo')).toMatchObject({ muted: true, mayPublish: false })
    // The SDK refuses; a modified client writing over the link or through the relay gets nowhere.
    expect(await codeOf(rb.sendMessage({ text: 'muted, through the SDK' }))).toBe('NOT_PERMITTED')
    for (let seq = 1; seq <= 5; seq++) overLink(bo, 'mm-ada', textFrame('mm-forged', seq, 1, `forged ${seq}`, 'mm-room'))
    const relayed = await (bo as unknown as { routes: { relayOnce(to: string, b: Uint8Array, offline: boolean): Promise<unknown> } }).routes
      .relayOnce('mm-cy', textFrame('mm-forged2', 1, 1, 'through the relay', 'mm-room'), false)
      .then(() => 'OK', (e: PlazaError) => ErrorCode[e.code])
    expect(relayed).toBe('NOT_PERMITTED')
    // What Bo sends Ada privately after the forged frames arrives after them on the same link.
    expect(await bo.sendMessageToPeer({ text: 'after' }, 'mm-ada')).toMatchObject({ state: 'RECEIVED_BY_PEER', path: 'direct' })

    const unmuted = waitForEvent(rc, 'MemberStateChanged', (uid, st) => uid === 'mm-bo' && !(st as { muted: boolean }).muted)
    await ra.unmuteMember('mm-bo')
    await unmuted
    const result = await rb.sendMessage({ text: 'unmuted' })
    expect(result).toMatchObject({ members: 2, received: 2 })
    expect(seenByAda).toEqual(['mm-bo:unmuted'])
    expect(seenByCy).toEqual(['mm-bo:unmuted'])
  })

  it('a timed mute ends by itself: every member hears it, and the member publishes again', async () => {
    const ada = await as('mt-ada')
    const bo = await as('mt-bo')
    const [ra, rb] = [ada.createChannel('mt-room'), bo.createChannel('mt-room')]
    await ra.join()
    await rb.join()
    const muted = waitForEvent(ra, 'MemberStateChanged', (uid, st) => uid === 'mt-bo' && (st as { muted: boolean }).muted)
    expect((await api('POST', '/v1/channels/mt-room/members/mt-bo/mute', { seconds: 1 })).status).toBe(200)
    await muted
    const overForAda = waitForEvent(ra, 'MemberStateChanged', (uid, st) => uid === 'mt-bo' && !(st as { muted: boolean }).muted, 5000)
    const overForBo = waitForEvent(rb, 'MemberStateChanged', (uid, st) => uid === 'mt-bo' && !(st as { muted: boolean }).muted, 5000)
    await Promise.all([overForAda, overForBo])
    expect(await rb.sendMessage({ text: 'back' })).toMatchObject({ members: 1, received: 1 })
  })

  it('a message from a member that has not heard of its mute (or will not) reaches no one, not even once the mute is over', async () => {
    // Found by an outside attack: refused unacknowledged, the direct copy was sent again (then
    // through the relay) until the mute ended, and delivered then.
    const ada = await as('ms-ada')
    const bo = await as('ms-bo')
    const cy = await as('ms-cy', {}, { directLinks: false })
    const [ra, rb, rc] = [ada.createChannel('ms-room'), bo.createChannel('ms-room'), cy.createChannel('ms-room')]
    await ra.join()
    await rb.join()
    await rc.join()
    await bo.sendMessageToPeer({ text: 'hello' }, 'ms-ada')
    await linkOpen(bo, 'ms-ada')
    await linkOpen(ada, 'ms-bo')
    const seen: string[] = []
    ra.on('ChannelMessage', (m, from) => seen.push(`ada<-${from}:${m.messageType === 'TEXT' ? m.text : ''}`))
    rc.on('ChannelMessage', (m, from) => seen.push(`cy<-${from}:${m.messageType === 'TEXT' ? m.text : ''}`))
    // Bo's client does not take in its own standing: it has not heard of the mute yet (or is modified).
    const own = rb as unknown as { _onMemberState(uid: string, st: unknown): void }
    const take = own._onMemberState.bind(rb)
    own._onMemberState = (uid, st) => (uid === 'ms-bo' ? undefined : take(uid, st))
    const heard = [ra, rc].map((r) => waitForEvent(r, 'MemberStateChanged', (uid, st) => uid === 'ms-bo' && (st as { muted: boolean }).muted))
    expect((await api('POST', '/v1/channels/ms-room/members/ms-bo/mute', { seconds: 2 })).status).toBe(200)
    await Promise.all(heard)
    const over = [ra, rc].map((r) => waitForEvent(r, 'MemberStateChanged', (uid, st) => uid === 'ms-bo' && !(st as { muted: boolean }).muted, 10_000))
    const result = await rb.sendMessage({ text: 'sent while muted' })
    await Promise.all(over)
    // Refused by Ada (over the link) and by the node (to Cy): settled at once, never sent again.
    expect(result.received).toBe(0)
    expect(result.failures.map((f) => f.state)).toEqual(['FAILURE', 'FAILURE'])
    // What Bo sends once the mute is over is delivered, and nothing of the earlier one with it.
    expect(await rb.sendMessage({ text: 'after the mute' })).toMatchObject({ members: 2, received: 2 })
    expect(seen.sort()).toEqual(['ada<-ms-bo:after the mute', 'cy<-ms-bo:after the mute'])
  })

  it('a removed member is out (all hear MemberLeft) and may not join again; only a moderator may remove', async () => {
    const ada = await as('mr-ada', { role: 'teacher', moderate: ['mr-*'] })
    const bo = await as('mr-bo')
    const cy = await as('mr-cy')
    const [ra, rb, rc] = [ada.createChannel('mr-room'), bo.createChannel('mr-room'), cy.createChannel('mr-room')]
    await ra.join()
    await rb.join()
    await rc.join()
    expect(await codeOf(rc.removeMember('mr-bo'))).toBe('NOT_PERMITTED')
    const removed = waitForEvent(rb, 'RemovedFromChannel')
    const left = waitForEvent(rc, 'MemberLeft', (uid) => uid === 'mr-bo')
    await ra.removeMember('mr-bo', { seconds: 120 })
    await removed
    await left
    expect(rb.joined).toBe(false)
    const err = await rb.join().catch((e: PlazaError) => e)
    expect((err as PlazaError).code).toBe(ErrorCode.NOT_PERMITTED)
    expect((err as PlazaError).message).toMatch(/removed from mr-room until/)
    // Through REST too, for a channel with no moderator online.
    const dee = await as('mr-dee')
    const rd = dee.createChannel('mr-other')
    await rd.join()
    const gone = waitForEvent(rd, 'RemovedFromChannel')
    expect(await api('POST', '/v1/channels/mr-other/members/mr-dee/remove', { seconds: 60 })).toMatchObject({ status: 200, body: { wasMember: true } })
    await gone
    expect(await metric(node, 'plaza_moderation_actions_total', 'action="remove"')).toBe(2)
  })
})
