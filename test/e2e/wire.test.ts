import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CloseCode,
  ErrorCode,
  FrameType,
  PROTOCOL_VERSION,
  PeerFrameType,
  encodeFrame,
  encodePeerFrame,
  MessageKind,
} from '@plaza/protocol'
import { PeerMessageState } from '@plaza/client'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as sync from 'y-protocols/sync'
import { SyncKind } from '@plaza/protocol'
import { loggedIn, closeClients } from '../helpers/clients.js'
import { RawClient } from '../helpers/raw-client.js'
import { until } from '../helpers/wait.js'
import { APP_ID, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

/** A bystander's conversation keeps working through whatever the attacker did. */
async function bystandersUnaffected(tag: string): Promise<void> {
  const a = await loggedIn(node, `${tag}-a`, { directLinks: false })
  await loggedIn(node, `${tag}-b`, { directLinks: false })
  expect((await a.sendMessageToPeer({ text: 'still here' }, `${tag}-b`)).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
}

describe('bad input at the rendezvous', () => {
  it('answers malformed and unknown frames with codes and keeps the connection', async () => {
    const raw = await RawClient.open(node.url)
    raw.send(new Uint8Array([]))
    await raw.error(ErrorCode.MALFORMED_FRAME)
    raw.send(new Uint8Array([99]))
    await raw.error(ErrorCode.UNKNOWN_FRAME)
    raw.send(encodeFrame({ type: FrameType.PONG, ts: 1, serverTs: 1 }))
    await raw.error(ErrorCode.UNEXPECTED_FRAME)
    raw.ws.send('text is not spoken')
    await raw.error(ErrorCode.MALFORMED_FRAME)
    await raw.login('wire-1', await node.token('wire-1'))
    raw.send({ type: FrameType.PING, ts: 1 })
    await raw.next((f) => f.type === FrameType.PONG)
    raw.close()
    await bystandersUnaffected('wire-1')
  })

  it('refuses frames before login with NOT_LOGGED_IN', async () => {
    const raw = await RawClient.open(node.url)
    raw.send({ type: FrameType.RELAY_TO, reqId: 1, to: 'someone', offline: true, payload: new Uint8Array([1]) })
    await raw.error(ErrorCode.NOT_LOGGED_IN)
    raw.close()
  })

  it('refuses an unsupported protocol version with UNSUPPORTED_VERSION', async () => {
    const raw = await RawClient.open(node.url)
    raw.send({ type: FrameType.LOGIN, version: 99, appId: APP_ID, uid: 'v', token: await node.token('v'), resume: '' })
    const f = await raw.next((f) => f.type === FrameType.LOGIN_FAILED)
    expect(f).toMatchObject({ code: ErrorCode.UNSUPPORTED_VERSION })
    expect((await raw.closed).code).toBe(CloseCode.LOGIN_FAILED)
  })

  it('closes a frame over 128 KiB with 1009 and no harm to others', async () => {
    const raw = await RawClient.open(node.url)
    raw.ws.send(new Uint8Array(200 * 1024))
    expect((await raw.closed).code).toBe(CloseCode.TOO_BIG)
    await bystandersUnaffected('wire-big')
  })

  it('refuses an oversize relay payload with FRAME_TOO_LARGE', async () => {
    const raw = await RawClient.open(node.url)
    await raw.login('wire-2', await node.token('wire-2'))
    raw.send({ type: FrameType.RELAY_TO, reqId: 1, to: 'x', offline: false, payload: new Uint8Array(60_000) })
    await raw.error(ErrorCode.FRAME_TOO_LARGE)
    raw.close()
  })

  it('sets the sender of relayed and signaled frames itself: a client cannot speak as another uid', async () => {
    const raw = await RawClient.open(node.url)
    await raw.login('wire-mallory', await node.token('wire-mallory'))
    const victim = await loggedIn(node, 'wire-victim', { directLinks: false })
    const seen: string[] = []
    victim.on('MessageFromPeer', (_m, from) => seen.push(from))
    const frame = encodePeerFrame({ type: PeerFrameType.MESSAGE, stream: 'x', channel: '', seq: 1, floor: 1, sentTs: 1, kind: MessageKind.TEXT, text: 'hi', bytes: new Uint8Array(0), description: '' })
    raw.send({ type: FrameType.RELAY_TO, reqId: 7, to: 'wire-victim', offline: false, payload: frame })
    await raw.next((f) => f.type === FrameType.RELAY_RESULT)
    await raw.next((f) => f.type === FrameType.RELAY_FROM) // the victim's acknowledgement comes back
    expect(seen).toEqual(['wire-mallory'])
    raw.close()
  })

  it('answers a flood past the message limit with TOO_OFTEN and stays connected', async () => {
    const raw = await RawClient.open(node.url)
    await raw.login('wire-flood', await node.token('wire-flood'))
    const frame = encodePeerFrame({ type: PeerFrameType.MESSAGE, stream: 'x', channel: '', seq: 1, floor: 1, sentTs: 1, kind: MessageKind.TEXT, text: 'x', bytes: new Uint8Array(0), description: '' })
    const t0 = Date.now()
    for (let i = 1; i <= 2500; i++) raw.send({ type: FrameType.RELAY_TO, reqId: i, to: 'wire-nobody', offline: false, payload: frame })
    raw.send({ type: FrameType.PING, ts: 1 })
    await raw.next((f) => f.type === FrameType.PONG, 15_000)
    const elapsed = Date.now() - t0
    const accepted = raw.frames.filter((f) => f.type === FrameType.RELAY_RESULT).length
    const refused = raw.frames.filter((f) => f.type === FrameType.RESULT && f.code === ErrorCode.TOO_OFTEN).length
    expect(accepted + refused).toBe(2500)
    // A bucket of 1500 refilled at 1500 per 3 s: never more than that passes.
    expect(accepted).toBeLessThanOrEqual(1500 + Math.ceil(elapsed / 2) + 1)
    expect(refused).toBeGreaterThan(0)
    raw.close()
    await bystandersUnaffected('wire-flood')
  })

  // Found by an outside attack: a control character in the uid was answered INVALID_TOKEN; a
  // client could send on the node's own '~' streams; a request with reqId 0 ("no answer") got
  // a RESULT.
  it('refuses a login with an invalid uid with INVALID_USER_ID', async () => {
    const raw = await RawClient.open(node.url)
    raw.send({ type: FrameType.LOGIN, version: PROTOCOL_VERSION, appId: APP_ID, uid: 'bad\nuid', token: await node.token('wire-x'), resume: '' })
    expect(await raw.next((f) => f.type === FrameType.LOGIN_FAILED)).toMatchObject({ code: ErrorCode.INVALID_USER_ID })
    expect((await raw.closed).code).toBe(CloseCode.LOGIN_FAILED)
  })

  it('refuses client messages on the node’s reserved ~ streams, and answers reqId 0 only with an ERROR', async () => {
    const raw = await RawClient.open(node.url)
    await raw.login('wire-tilde', await node.token('wire-tilde'))
    const victim = await loggedIn(node, 'wire-tilde-v', { directLinks: false })
    const seen: string[] = []
    victim.on('MessageFromPeer', (m) => seen.push(m.messageType === 'TEXT' ? m.text : ''))
    const on = (stream: string, text: string) =>
      encodePeerFrame({ type: PeerFrameType.MESSAGE, stream, channel: '', seq: 1, floor: 1, sentTs: 1, kind: MessageKind.TEXT, text, bytes: new Uint8Array(0), description: '' })
    raw.send({ type: FrameType.RELAY_TO, reqId: 5, to: 'wire-tilde-v', offline: true, payload: on('~node', 'spoof') })
    await raw.error(ErrorCode.MALFORMED_FRAME)
    raw.send({ type: FrameType.RELAY_TO, reqId: 0, to: 'wire-tilde-v', offline: true, payload: on('~node', 'spoof') })
    expect(await raw.next((f) => f.type === FrameType.ERROR)).toMatchObject({ code: ErrorCode.MALFORMED_FRAME })
    raw.send({ type: FrameType.RELAY_TO, reqId: 0, to: 'wire-tilde-v', offline: false, payload: on('ok', 'fine') })
    await until(() => seen.length > 0, 5_000, 'the message on an ordinary stream')
    expect(seen).toEqual(['fine'])
    expect(raw.frames.filter((f) => f.type === FrameType.RESULT || f.type === FrameType.RELAY_RESULT)).toEqual([])
    raw.close()
  })

  it('closes a connection that keeps sending garbage with TOO_MANY_ERRORS', async () => {
    const raw = await RawClient.open(node.url)
    for (let i = 0; i < 60; i++) raw.send(new Uint8Array([255, 255]))
    expect((await raw.closed).code).toBe(CloseCode.TOO_MANY_ERRORS)
  })

  it('refuses a signal to an offline user with SIGNAL_FAILED/PEER_OFFLINE', async () => {
    const raw = await RawClient.open(node.url)
    await raw.login('wire-sig', await node.token('wire-sig'))
    raw.send({ type: FrameType.SIGNAL_TO, to: 'wire-ghost', data: '{}' })
    expect(await raw.next((f) => f.type === FrameType.SIGNAL_FAILED)).toMatchObject({ to: 'wire-ghost', code: ErrorCode.PEER_OFFLINE })
    raw.close()
  })

  it('refuses a member’s document update past the limits or with foreign data, keeping the replica intact', async () => {
    const raw = await RawClient.open(node.url)
    await raw.login('wire-doc', await node.token('wire-doc'))
    raw.send({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'wire-room' })
    await raw.next((f) => f.type === FrameType.MEMBERS)
    // Learn the document's generation: a step 1 on none gets the whole state on the current one.
    const step1 = encoding.createEncoder()
    sync.writeSyncStep1(step1, new Y.Doc())
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 0, channel: 'wire-room', epoch: 0, kind: SyncKind.DOC, notify: false, payload: encoding.toUint8Array(step1) })
    const state = await raw.next((f) => f.type === FrameType.CHANNEL_SYNC_FROM_NODE && f.kind === SyncKind.DOC)
    const epoch = state.type === FrameType.CHANNEL_SYNC_FROM_NODE ? state.epoch : 0
    const updateOf = (fill: (doc: Y.Doc) => void) => {
      const doc = new Y.Doc()
      fill(doc)
      const e = encoding.createEncoder()
      sync.writeUpdate(e, Y.encodeStateAsUpdate(doc))
      return encoding.toUint8Array(e)
    }
    const tooBig = updateOf((d) => {
      const m = d.getMap('attributes')
      for (let i = 0; i < 5; i++) m.set(`k${i}`, { value: 'x'.repeat(8000), lastUpdateUserId: 'wire-doc', lastUpdateTs: 1 })
    })
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 2, channel: 'wire-room', epoch, kind: SyncKind.DOC, notify: false, payload: tooBig })
    expect(await raw.next((f) => f.type === FrameType.RESULT && f.reqId === 2)).toMatchObject({ code: ErrorCode.ATTRIBUTES_TOO_LARGE })
    const foreign = updateOf((d) => d.getArray('junk').push(['x']))
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 3, channel: 'wire-room', epoch, kind: SyncKind.DOC, notify: false, payload: foreign })
    expect(await raw.next((f) => f.type === FrameType.RESULT && f.reqId === 3)).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT })
    const malformed = updateOf((d) => d.getMap('attributes').set('k', 'not an attribute object'))
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 4, channel: 'wire-room', epoch, kind: SyncKind.DOC, notify: false, payload: malformed })
    expect(await raw.next((f) => f.type === FrameType.RESULT && f.reqId === 4)).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT })
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 5, channel: 'wire-room', epoch, kind: SyncKind.DOC, notify: false, payload: new Uint8Array([1, 200]) })
    expect(await raw.next((f) => f.type === FrameType.RESULT && f.reqId === 5)).toMatchObject({ code: ErrorCode.MALFORMED_FRAME })
    raw.send({ type: FrameType.CHANNEL_ATTRS_GET, reqId: 6, channel: 'wire-room', keys: [] })
    expect(await raw.next((f) => f.type === FrameType.ATTRIBUTES && f.reqId === 6)).toMatchObject({ attrs: [] })
    raw.close()
  })

  it('refuses a channel message relayed to a non-member, and sync for a channel not joined', async () => {
    const raw = await RawClient.open(node.url)
    await raw.login('wire-chan', await node.token('wire-chan'))
    await loggedIn(node, 'wire-outsider', { directLinks: false })
    const frame = encodePeerFrame({ type: PeerFrameType.MESSAGE, stream: 'x', channel: 'wire-room2', seq: 1, floor: 1, sentTs: 1, kind: MessageKind.TEXT, text: 'x', bytes: new Uint8Array(0), description: '' })
    raw.send({ type: FrameType.RELAY_TO, reqId: 1, to: 'wire-outsider', offline: false, payload: frame })
    expect(await raw.next((f) => f.type === FrameType.RESULT && f.reqId === 1)).toMatchObject({ code: ErrorCode.NOT_IN_CHANNEL })
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 2, channel: 'wire-room2', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload: new Uint8Array([0]) })
    expect(await raw.next((f) => f.type === FrameType.RESULT && f.reqId === 2)).toMatchObject({ code: ErrorCode.NOT_IN_CHANNEL })
    raw.close()
  })

  it('answers a signaling flood with TOO_OFTEN, keeps the flooder connected, and spares the target', async () => {
    const raw = await RawClient.open(node.url)
    await raw.login('wire-sigflood', await node.token('wire-sigflood'))
    const target = await loggedIn(node, 'wire-sigtarget', { directLinks: false })
    for (let i = 0; i < 1000; i++) raw.send({ type: FrameType.SIGNAL_TO, to: 'wire-sigtarget', data: '{"l":"x","s":{"type":"candidate"}}' })
    await raw.error(ErrorCode.TOO_OFTEN)
    raw.send({ type: FrameType.PING, ts: 1 })
    await raw.next((f) => f.type === FrameType.PONG)
    expect(target.connectionState).toBe('CONNECTED')
    raw.close()
    await bystandersUnaffected('wire-sig')
  })
})
