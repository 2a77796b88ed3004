import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as sync from 'y-protocols/sync'
import { ErrorCode, PlazaError } from '@plaza/client'
import { FrameType, SyncKind, decodeClientFrame, encodeFrame } from '@plaza/protocol'
import { closeClients, loggedIn, makeClient } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { RawClient } from '../../helpers/raw-client.js'

// Issue 9, item 3: a member's document update must meet the same per-key and per-value limits
// as every other write path; and a frame the client cannot decode must surface as an error of
// the request it answers, never as a silent timeout.
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

/** How a call ended: its PlazaError code ('OK' if it resolved) and how long it took. */
async function outcome(p: Promise<unknown>): Promise<{ code: string; ms: number; value?: unknown }> {
  const t0 = Date.now()
  try {
    const value = await p
    return { code: 'OK', ms: Date.now() - t0, value }
  } catch (e) {
    return { code: e instanceof PlazaError ? ErrorCode[e.code] : String(e), ms: Date.now() - t0 }
  }
}

describe('limits on a member’s document update', () => {
  it('refuses a 201-byte key with a newline and a 20 KB value; non-members still read the channel', async () => {
    const raw = await RawClient.open(node.url)
    await raw.login('ml-member', await node.token('ml-member'))
    raw.send({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel: 'ml-room' })
    await raw.next((f) => f.type === FrameType.MEMBERS)
    const { epoch } = await raw.docState('ml-room')

    const badKey = `bad\n${'k'.repeat(197)}` // 201 bytes
    expect(new TextEncoder().encode(badKey).length).toBe(201)
    const doc = new Y.Doc()
    doc.getMap('attributes').set(badKey, { value: 'v'.repeat(20_000), lastUpdateUserId: 'ml-member', lastUpdateTs: Date.now() })
    const e = encoding.createEncoder()
    sync.writeUpdate(e, Y.encodeStateAsUpdate(doc))
    raw.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 2, channel: 'ml-room', epoch, kind: SyncKind.DOC, notify: false, payload: encoding.toUint8Array(e) })
    const answer = await raw.next((f) => f.type === FrameType.RESULT && f.reqId === 2)
    const code = answer.type === FrameType.RESULT ? ErrorCode[answer.code] : '?'
    expect.soft(['INVALID_ATTRIBUTE_KEY', 'ATTRIBUTES_TOO_LARGE'], 'the node refuses the update').toContain(code)

    // A non-member reads through the node's replica: a prompt answer, without the bad key.
    const reader = await loggedIn(node, 'ml-reader', { directLinks: false, requestTimeoutMs: 5000 })
    const read = await outcome(reader.getChannelAttributes('ml-room'))
    expect({ code: read.code, keys: Object.keys((read.value as object) ?? {}) }).toEqual({ code: 'OK', keys: [] })
    raw.close()
  })
})

describe('an answer the client cannot decode', () => {
  it('rejects the request at once with MALFORMED_FRAME or FRAME_TOO_LARGE, not TIMEOUT', async () => {
    // A tiny fake node: LOGIN_OK to a login, and to a CHANNEL_ATTRS_GET an ATTRIBUTES frame
    // whose one key is 200 bytes (the codec refuses keys over 32 bytes when decoding).
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await new Promise<void>((r) => wss.once('listening', () => r()))
    wss.on('connection', (ws) => {
      ws.on('message', (data: Buffer) => {
        const f = decodeClientFrame(new Uint8Array(data))
        const reply = (frame: Parameters<typeof encodeFrame>[0]) => ws.send(encodeFrame(frame))
        if (f.type === FrameType.LOGIN) {
          reply({ type: FrameType.LOGIN_OK, sessionId: 's1', resumed: false, resync: false, serverTs: Date.now(), pingIntervalMs: 60_000, tokenExpiresAt: Date.now() + 3600_000 })
        } else if (f.type === FrameType.CHANNEL_ATTRS_GET) {
          reply({ type: FrameType.ATTRIBUTES, reqId: f.reqId, attrs: [{ key: 'k'.repeat(200), value: 'v', lastUpdateUserId: 'someone', lastUpdateTs: 1 }] })
        } else if (f.type === FrameType.LOGOUT) {
          reply({ type: FrameType.RESULT, reqId: f.reqId, code: ErrorCode.OK, message: '' })
          ws.close(4004)
        }
      })
    })
    try {
      const port = (wss.address() as { port: number }).port
      const client = makeClient(node, { rendezvousUrl: `ws://127.0.0.1:${port}`, directLinks: false, requestTimeoutMs: 5000 })
      await client.login({ uid: 'ml-fake', token: 'anything' })
      const read = await outcome(client.getChannelAttributes('ml-fake-room'))
      expect(['MALFORMED_FRAME', 'FRAME_TOO_LARGE'], 'the request is rejected with a decoding error').toContain(read.code)
      expect(read.ms, 'promptly, well before the request timeout').toBeLessThan(2500)
    } finally {
      await closeClients()
      await new Promise<void>((r) => wss.close(() => r()))
    }
  })
})

