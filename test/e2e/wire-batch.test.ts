/**
 * Protocol 3 at the node: a BATCH is taken frame by frame as if each had come alone; relay
 * requests are answered "relayed" in one RELAYED frame (held up to 5 ms for the next frame to the
 * client, and sent ahead of it); a protocol-2 client still gets
 * a RELAY_RESULT for each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, FrameType, MessageKind, PeerFrameType, PROTOCOL_VERSION, RelayStatus, encodeFrame, encodePeerFrame } from '@plaza/protocol'
import { closeClients, loggedIn } from '../helpers/clients.js'
import { RawClient } from '../helpers/raw-client.js'
import { until } from '../helpers/wait.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

const message = (stream: string, seq: number, text: string) =>
  encodePeerFrame({ type: PeerFrameType.MESSAGE, stream, channel: '', seq, floor: 1, sentTs: 1, kind: MessageKind.TEXT, text, bytes: new Uint8Array(0), description: '' })

describe('BATCH and RELAYED (protocol 3)', () => {
  it('takes each frame of a batch in order, refuses a bad one alone, and answers relays in one RELAYED', async () => {
    const victim = await loggedIn(node, 'batch-b', { directLinks: false })
    const got: string[] = []
    victim.on('MessageFromPeer', (m) => got.push(m.messageType === 'TEXT' ? m.text : ''))
    const raw = await RawClient.open(node.url)
    await raw.login('batch-a', await node.token('batch-a'))
    const relay = (reqId: number, to: string, seq: number, text: string) =>
      encodeFrame({ type: FrameType.RELAY_TO, reqId, to, offline: false, payload: message(`s-${to}`, seq, text) })
    raw.send({
      type: FrameType.BATCH,
      frames: [
        relay(1, 'batch-b', 1, 'one'),
        new Uint8Array([99]), // unknown tag: refused alone
        encodeFrame({ type: FrameType.BATCH, frames: [relay(9, 'batch-b', 9, 'nested')] }), // no batch in a batch
        relay(2, 'batch-b', 2, 'two'),
        relay(3, 'batch-nobody', 1, 'lost'),
        encodeFrame({ type: FrameType.PING, ts: 42 }),
        relay(4, 'batch-b', 3, 'three'),
      ],
    })
    await raw.next((f) => f.type === FrameType.PONG && f.ts === 42)
    await raw.error(ErrorCode.UNKNOWN_FRAME)
    await raw.error(ErrorCode.MALFORMED_FRAME)
    expect(await raw.next((f) => f.type === FrameType.RELAY_RESULT && f.reqId === 3)).toMatchObject({ status: RelayStatus.PEER_OFFLINE })
    for (const reqId of [1, 2, 4]) expect(await raw.next((f) => f.type === FrameType.RELAY_RESULT && f.reqId === reqId)).toMatchObject({ status: RelayStatus.RELAYED })
    // "Relayed" came as one frame for the three requests, not one each.
    const relayed = raw.wire.filter((f) => f.type === FrameType.RELAYED)
    expect(relayed).toHaveLength(1)
    expect(relayed[0]).toMatchObject({ reqIds: [1, 2, 4] })
    expect(raw.wire.filter((f) => f.type === FrameType.RELAY_RESULT).map((f) => f.type === FrameType.RELAY_RESULT && f.reqId)).toEqual([3])
    await until(() => got.length === 3, 5000, 'three messages')
    expect(got).toEqual(['one', 'two', 'three'])
    raw.close()
  })

  it('holds RELAYED a few milliseconds for the next frame to the same client, and sends it ahead of that frame', async () => {
    const a = await RawClient.open(node.url)
    await a.login('hold-a', await node.token('hold-a'))
    const b = await RawClient.open(node.url)
    await b.login('hold-b', await node.token('hold-b'))
    // Nothing else goes to a: its RELAYED waits out the hold (5 ms), not sent at the end of the turn.
    const t0 = performance.now()
    a.send({ type: FrameType.RELAY_TO, reqId: 1, to: 'hold-b', offline: false, payload: message('s-hold', 1, 'one') })
    await a.next((f) => f.type === FrameType.RELAY_RESULT && f.reqId === 1)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(4.5)
    await b.next((f) => f.type === FrameType.RELAY_FROM)
    // b acknowledges at once: a's RELAYED for the next message goes first, then the acknowledgement.
    a.send({ type: FrameType.RELAY_TO, reqId: 2, to: 'hold-b', offline: false, payload: message('s-hold', 2, 'two') })
    await b.next((f) => f.type === FrameType.RELAY_FROM)
    b.send({ type: FrameType.RELAY_TO, reqId: 0, to: 'hold-a', offline: false, payload: encodePeerFrame({ type: PeerFrameType.ACK, stream: 's-hold', upTo: 2, missing: [], known: 2 }) })
    await a.next((f) => f.type === FrameType.RELAY_FROM)
    const order = a.wire.filter((f) => f.type === FrameType.RELAYED || f.type === FrameType.RELAY_FROM).map((f) => (f.type === FrameType.RELAYED ? `relayed ${f.reqIds}` : 'ack'))
    expect(order).toEqual(['relayed 1', 'relayed 2', 'ack'])
    a.close()
    b.close()
  })

  it('answers a protocol-2 client with a RELAY_RESULT for each relay request, and never sends it RELAYED', async () => {
    await loggedIn(node, 'batch-v2-b', { directLinks: false })
    const raw = await RawClient.open(node.url)
    await raw.login('batch-v2-a', await node.token('batch-v2-a'), '', 2)
    for (let reqId = 1; reqId <= 20; reqId++) raw.send({ type: FrameType.RELAY_TO, reqId, to: 'batch-v2-b', offline: false, payload: message('s2', reqId, String(reqId)) })
    for (let reqId = 1; reqId <= 20; reqId++) await raw.next((f) => f.type === FrameType.RELAY_RESULT && f.reqId === reqId && f.status === RelayStatus.RELAYED)
    expect(raw.wire.filter((f) => f.type === FrameType.RELAYED)).toHaveLength(0)
    raw.close()
  })

  it('refuses protocol versions outside the ones it speaks', async () => {
    for (const version of [1, PROTOCOL_VERSION + 1]) {
      const raw = await RawClient.open(node.url)
      await expect(raw.login('batch-old', await node.token('batch-old'), '', version)).rejects.toThrow('login failed')
      raw.close()
    }
  })
})
