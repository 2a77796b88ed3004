import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as sync from 'y-protocols/sync'
import { ErrorCode, PlazaError, type PlazaClient } from '@plaza/client'
import { AttributeOp, FrameType, SyncKind, type Grants } from '@plaza/protocol'
import { closeClients, loggedIn, makeClient } from '../helpers/clients.js'
import { RawClient, textFrame } from '../helpers/raw-client.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

async function withGrants(uid: string, grants: Grants): Promise<PlazaClient> {
  const c = makeClient(node, { directLinks: false })
  await c.login({ uid, token: await node.token(uid, 3600, grants) })
  return c
}
async function rawWithGrants(uid: string, grants: Grants): Promise<RawClient> {
  const raw = await RawClient.open(node.url)
  await raw.login(uid, await node.token(uid, 3600, grants))
  return raw
}
const codeOf = (p: Promise<unknown>) => p.then(() => 'OK', (e) => (e instanceof PlazaError ? ErrorCode[e.code] : String(e)))
const answer = async (raw: RawClient, reqId: number) => {
  const f = await raw.next((f) => (f.type === FrameType.RESULT || f.type === FrameType.MEMBERS || f.type === FrameType.RELAY_RESULT) && f.reqId === reqId)
  return f.type === FrameType.RESULT ? ErrorCode[f.code] : 'OK'
}

describe('grants in the token', () => {
  it('join: only the channels granted (exact or prefix), checked by the SDK and by the node', async () => {
    const c = await withGrants('g-student', { join: ['class-*', 'lobby'] })
    expect(await codeOf(c.createChannel('class-7').join())).toBe('OK')
    expect(await codeOf(c.createChannel('lobby').join())).toBe('OK')
    expect(await codeOf(c.createChannel('staff-room').join())).toBe('NOT_PERMITTED')
    const raw = await rawWithGrants('g-raw', { join: ['class-*'] })
    raw.send({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'staff-room' })
    expect(await answer(raw, 1)).toBe('NOT_PERMITTED')
    raw.send({ type: FrameType.JOIN_CHANNEL, reqId: 2, channel: 'class-9' })
    expect(await answer(raw, 2)).toBe('OK')
    raw.close()
  })

  it('publish: a listener may not send channel messages, over the SDK or raw through the node', async () => {
    const teacher = await loggedIn(node, 'g-teacher', { directLinks: false })
    await teacher.createChannel('g-lecture').join()
    const listener = await withGrants('g-listener', { publish: [] })
    const ch = listener.createChannel('g-lecture')
    await ch.join()
    expect(await codeOf(ch.sendMessage({ text: 'hi' }))).toBe('NOT_PERMITTED')
    const raw = await rawWithGrants('g-raw-listener', { publish: ['other-*'] })
    raw.send({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'g-lecture' })
    await answer(raw, 1)
    raw.send({ type: FrameType.RELAY_TO, reqId: 2, to: 'g-teacher', offline: false, payload: textFrame('rl', 1, 1, 'sneaky', 'g-lecture') })
    expect(await answer(raw, 2)).toBe('NOT_PERMITTED')
    // A private message is not a channel message: still allowed.
    raw.send({ type: FrameType.RELAY_TO, reqId: 3, to: 'g-teacher', offline: false, payload: textFrame('rp', 1, 1, 'a question') })
    expect(await answer(raw, 3)).toBe('OK')
    raw.close()
  })

  it('writeAttributes false: no attribute writes, as a member (document update) or not', async () => {
    const c = await withGrants('g-reader', { writeAttributes: false })
    expect(await codeOf(c.addOrUpdateChannelAttributes('g-board', { k: 'v' }))).toBe('NOT_PERMITTED')
    const ch = c.createChannel('g-board')
    await ch.join()
    expect(await codeOf(c.addOrUpdateChannelAttributes('g-board', { k: 'v' }))).toBe('NOT_PERMITTED')
    const raw = await rawWithGrants('g-raw-reader', { writeAttributes: false })
    raw.send({ type: FrameType.CHANNEL_ATTRS_WRITE, reqId: 1, channel: 'g-board', op: AttributeOp.SET, attrs: [['k', 'v']], keys: [], notify: false })
    expect(await answer(raw, 1)).toBe('NOT_PERMITTED')
    raw.send({ type: FrameType.JOIN_CHANNEL, reqId: 2, channel: 'g-board' })
    await answer(raw, 2)
    const { epoch } = await raw.docState('g-board')
    const doc = new Y.Doc()
    doc.getMap('attributes').set('k', { value: 'v', lastUpdateUserId: 'g-raw-reader', lastUpdateTs: Date.now() })
    const e = encoding.createEncoder()
    sync.writeUpdate(e, Y.encodeStateAsUpdate(doc))
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 3, channel: 'g-board', epoch, kind: SyncKind.DOC, notify: false, payload: encoding.toUint8Array(e) })
    expect(await answer(raw, 3)).toBe('NOT_PERMITTED')
    // A writer still writes, and the reader sees it.
    const writer = await loggedIn(node, 'g-writer', { directLinks: false })
    await writer.addOrUpdateChannelAttributes('g-board', { k: 'from the writer' })
    expect((await c.getChannelAttributes('g-board')).k?.value).toBe('from the writer')
    raw.close()
  })

  it('an unrestricted token keeps today’s behaviour', async () => {
    const c = await loggedIn(node, 'g-free', { directLinks: false })
    expect(c.grants).toEqual({})
    const ch = c.createChannel('anything-at-all')
    await ch.join()
    await c.addOrUpdateChannelAttributes('anything-at-all', { k: 'v' })
  })
})
