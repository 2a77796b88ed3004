import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as sync from 'y-protocols/sync'
import { ErrorCode, FrameType, PeerFrameType, SyncKind, encodeAwarenessUpdate, encodePeerFrame } from '@plaza/protocol'
import type { PlazaClient } from '@plaza/client'
import { closeClients, linkOpen, loggedIn } from '../helpers/clients.js'
import { RawClient } from '../helpers/raw-client.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { until, waitForEvent } from '../helpers/wait.js'

// A member of a channel tries to speak for another: overwrite or delete its awareness state,
// or write attributes in its name.
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

const answer = async (raw: RawClient, reqId: number) => {
  const f = await raw.next((f) => (f.type === FrameType.RESULT || f.type === FrameType.MEMBERS) && f.reqId === reqId)
  return f.type === FrameType.RESULT ? ErrorCode[f.code] : 'OK'
}
const overLink = (c: PlazaClient, to: string, bytes: Uint8Array) => (c as unknown as { mesh: { send(uid: string, b: Uint8Array): boolean } }).mesh.send(to, bytes)

describe('a member speaking for another', () => {
  it('cannot overwrite or delete another member’s awareness, through the node or over a direct link', async () => {
    const victim = await loggedIn(node, 'sp-victim')
    const vRoom = victim.createChannel('sp-room')
    await vRoom.join()
    vRoom.awareness.setLocalStateField('role', 'teacher')
    const vid = vRoom.awareness.clientID
    const watcher = await loggedIn(node, 'sp-watcher')
    const wRoom = watcher.createChannel('sp-room')
    await wRoom.join()
    await until(() => (wRoom.awareness.getStates().get(vid) as { role?: string } | undefined)?.role === 'teacher', 10_000, 'the victim’s state')

    const raw = await RawClient.open(node.url)
    await raw.login('sp-mallory', await node.token('sp-mallory'))
    raw.send({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'sp-room' })
    await answer(raw, 1)
    const forged = encodeAwarenessUpdate([{ clientId: vid, clock: 1000, state: JSON.stringify({ uid: 'sp-victim', role: 'hacked' }) }])
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 2, channel: 'sp-room', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload: forged })
    expect(await answer(raw, 2)).toBe('NOT_PERMITTED')
    const removal = encodeAwarenessUpdate([{ clientId: vid, clock: 1001, state: 'null' }])
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 3, channel: 'sp-room', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload: removal })
    expect(await answer(raw, 3)).toBe('NOT_PERMITTED')
    // A new client id naming the victim is not taken either.
    const impostor = encodeAwarenessUpdate([{ clientId: 424242, clock: 1, state: JSON.stringify({ uid: 'sp-victim', role: 'hacked' }) }])
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 4, channel: 'sp-room', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload: impostor })
    expect(await answer(raw, 4)).toBe('NOT_PERMITTED')
    // Nor a uid an app would print as the victim's (found by an outside attack), nor a state that is not JSON.
    for (const [reqId, state] of [
      [40, JSON.stringify({ uid: ['sp-victim'], role: 'hacked' })],
      [41, JSON.stringify({ uid: { toString: 'sp-victim' } })],
      [42, '{"uid": "sp-mallory", '],
    ] as const) {
      const odd = encodeAwarenessUpdate([{ clientId: 424243, clock: 1, state }])
      raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId, channel: 'sp-room', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload: odd })
      expect(await answer(raw, reqId)).toBe('NOT_PERMITTED')
    }
    // Its own state is taken and passed on.
    const own = encodeAwarenessUpdate([{ clientId: 777, clock: 1, state: JSON.stringify({ uid: 'sp-mallory', role: 'student' }) }])
    const seen = waitForEvent(wRoom.awareness as never, 'change')
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 5, channel: 'sp-room', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload: own })
    expect(await answer(raw, 5)).toBe('OK')
    await seen

    // Over a direct link, from a member with the SDK (a shared channel allows the link).
    const mallory2 = await loggedIn(node, 'sp-mallory2')
    await mallory2.createChannel('sp-room').join()
    await mallory2.sendMessageToPeer({ text: 'hi' }, 'sp-watcher')
    await linkOpen(mallory2, 'sp-watcher')
    const sync1 = encodePeerFrame({ type: PeerFrameType.SYNC, channel: 'sp-room', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload: forged })
    const sync2 = encodePeerFrame({ type: PeerFrameType.SYNC, channel: 'sp-room', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload: removal })
    expect(overLink(mallory2, 'sp-watcher', sync1)).toBe(true)
    expect(overLink(mallory2, 'sp-watcher', sync2)).toBe(true)
    // A message after them on the same ordered link: when it is in, so are they.
    expect(await mallory2.sendMessageToPeer({ text: 'after' }, 'sp-watcher')).toMatchObject({ path: 'direct' })

    expect(wRoom.awareness.getStates().get(vid)).toMatchObject({ uid: 'sp-victim', role: 'teacher' })
    expect(wRoom.awareness.getStates().get(424242)).toBeUndefined()
    expect(wRoom.awareness.getStates().get(424243)).toBeUndefined()
    // And the node's copy, which a newcomer gets, is the victim's own.
    const late = await loggedIn(node, 'sp-late')
    const lRoom = late.createChannel('sp-room')
    await lRoom.join()
    await until(() => lRoom.awareness.getStates().has(vid), 10_000, 'the snapshot')
    expect(lRoom.awareness.getStates().get(vid)).toMatchObject({ uid: 'sp-victim', role: 'teacher' })
    raw.close()
  })

  it('cannot write attributes in another member’s name', async () => {
    const raw = await RawClient.open(node.url)
    await raw.login('sp-writer', await node.token('sp-writer'))
    raw.send({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'sp-board' })
    await answer(raw, 1)
    const update = async (reqId: number, by: string) => {
      const { epoch } = await raw.docState('sp-board')
      const doc = new Y.Doc()
      doc.getMap('attributes').set('notice', { value: `from ${by}`, lastUpdateUserId: by, lastUpdateTs: Date.now() })
      const e = encoding.createEncoder()
      sync.writeUpdate(e, Y.encodeStateAsUpdate(doc))
      raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId, channel: 'sp-board', epoch, kind: SyncKind.DOC, notify: false, payload: encoding.toUint8Array(e) })
      return answer(raw, reqId)
    }
    expect(await update(2, 'the-principal')).toBe('NOT_PERMITTED')
    expect(await update(3, 'sp-writer')).toBe('OK')
    const reader = await loggedIn(node, 'sp-reader', { directLinks: false })
    expect((await reader.getChannelAttributes('sp-board')).notice).toMatchObject({ value: 'from sp-writer', lastUpdateUserId: 'sp-writer' })
    raw.close()
  })
})
