/**
 * Unmodified y-webrtc providers (the `y-webrtc` package, each in its own process with
 * @roamhq/wrtc) share a Y.Doc through a Plaza node's /y-webrtc endpoint; a malformed-frame flood
 * leaves the node and the room working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { RawY, YPeer } from '../../helpers/ywebrtc.js'
import { metric } from '../../bench/lib.js'

let node: RendezvousProcess
const peers: YPeer[] = []
const raws: RawY[] = []

beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(async () => {
  for (const r of raws) r.close()
  await Promise.all(peers.map((p) => p.stop()))
  await stopRendezvous(node)
})

const yurl = () => `${node.url}/y-webrtc`

describe('y-webrtc providers through a Plaza node', () => {
  it('two providers share a document, a third joins late and gets it, with and without a room password', async () => {
    for (const password of [undefined, 'room-secret']) {
      const room = `doc-${password ? 'enc' : 'plain'}`
      // One after the other (y-webrtc's own glare: two providers announcing at once may both offer
      // and never connect — seen once in CI); the writes both ways prove the link.
      const a = await YPeer.start(yurl(), room, password)
      peers.push(a)
      const b = await YPeer.start(yurl(), room, password)
      peers.push(b)
      await a.until((p) => p.peers.length === 1, 20_000, 'a linked to b')
      await a.set('from-a', 1)
      await b.set('from-b', 2)
      await a.until((p) => p.map['from-b'] === 2, 20_000, 'b\'s write at a')
      await b.until((p) => p.map['from-a'] === 1, 20_000, 'a\'s write at b')
      const c = await YPeer.start(yurl(), room, password)
      peers.push(c)
      await c.until((p) => p.map['from-a'] === 1 && p.map['from-b'] === 2, 20_000, 'the late joiner synced')
      await c.set('from-c', 3)
      await a.until((p) => p.map['from-c'] === 3, 20_000, 'c\'s write at a')
      await b.until((p) => p.map['from-c'] === 3, 20_000, 'c\'s write at b')
    }
    expect(await metric(node, 'plaza_ywebrtc_publishes_total')).toBeGreaterThan(0)
    expect(await metric(node, 'plaza_ywebrtc_deliveries_total')).toBeGreaterThan(0)
  }, 90_000)

  it('a malformed-frame flood gets error frames and a close, and leaves the node and the room working', async () => {
    const room = 'flooded'
    // One after the other: two providers announcing at once may both offer (y-webrtc's glare), and
    // its 'peers' event fires when a link is attempted, not when it opens — a write that arrives
    // is the proof that the room works before the flood.
    const a = await YPeer.start(yurl(), room)
    peers.push(a)
    const b = await YPeer.start(yurl(), room)
    peers.push(b)
    await a.set('before-flood', true)
    await b.until((p) => p.map['before-flood'] === true, 30_000, 'a write before the flood')

    const garbage: (string | Buffer)[] = [
      '{',
      'null',
      '[]',
      '"publish"',
      '{"type":5}',
      '{"type":"subscribe"}',
      '{"type":"subscribe","topics":"flooded"}',
      '{"type":"subscribe","topics":[1,2]}',
      '{"type":"publish"}',
      '{"type":"publish","topic":{}}',
      '{"type":"what"}',
      Buffer.from([0, 1, 2, 3]),
    ]
    const flooders = await Promise.all(Array.from({ length: 4 }, () => RawY.open(yurl())))
    raws.push(...flooders)
    for (const f of flooders) for (let i = 0; i < 60; i++) f.ws.send(garbage[i % garbage.length])
    for (const f of flooders) {
      const err = await f.next((m) => m.type === 'error')
      expect(err.code).toBe('MALFORMED_FRAME')
      expect(await f.closed(10_000)).toBe(4002)
    }
    // A frame over frameBytes closes its socket with 1009 (ws checks the length from the header).
    const big = await RawY.open(yurl())
    raws.push(big)
    big.send({ type: 'publish', topic: room, data: 'x'.repeat(70_000) })
    expect(await big.closed()).toBe(1009)

    expect((await fetch(`${node.httpUrl}/healthz`)).status).toBe(200)
    await a.set('after-flood', true)
    await b.until((p) => p.map['after-flood'] === true, 20_000, 'a write after the flood')
    // Each flooder: 51 refusals (the 51st over the limit of 50 a minute closes it), by reason.
    let refused = 0
    for (const reason of ['malformed', 'unknown-type', 'invalid-topic']) refused += await metric(node, 'plaza_ywebrtc_refused_total', `reason="${reason}"`)
    expect(refused).toBe(4 * 51)
    expect(await metric(node, 'plaza_ywebrtc_refused_total', 'reason="too-large"')).toBe(1)
  }, 60_000)
})
