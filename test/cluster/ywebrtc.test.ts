/**
 * y-webrtc signaling across the nodes of a deployment (Redis engine): publishes reach the topic's
 * subscribers on the other nodes, apps stay apart there too, and y-webrtc providers on different
 * nodes share a document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintToken } from '@plaza/protocol'
import { APP_ID, SECRET } from '../helpers/rendezvous.js'
import { RawY, YPeer } from '../helpers/ywebrtc.js'
import { startCluster, type Cluster } from './cluster.js'

let cluster: Cluster
const peers: YPeer[] = []
const raws: RawY[] = []
beforeAll(async () => {
  cluster = await startCluster(2)
})
afterAll(async () => {
  for (const r of raws) r.close()
  await Promise.all(peers.map((p) => p.stop()))
  await cluster?.stop()
})

const yurl = (i: number, query = '') => `${cluster.nodes[i].url}/y-webrtc${query}`
async function open(i: number, query = ''): Promise<RawY> {
  const r = await RawY.open(yurl(i, query))
  raws.push(r)
  return r
}

describe('y-webrtc on two nodes of a Redis deployment', () => {
  it("relays a publish to the topic's subscribers on both nodes, each told its node's subscriber count", async () => {
    const [a0, b0, c1] = [await open(0), await open(0), await open(1)]
    for (const r of [a0, b0, c1]) r.send({ type: 'subscribe', topics: ['x-room'] })
    for (const r of [a0, b0, c1]) {
      r.send({ type: 'ping' })
      await r.next((f) => f.type === 'pong')
    }
    const sender = await open(1)
    sender.send({ type: 'publish', topic: 'x-room', data: { type: 'announce', from: 's' } })
    expect(await c1.next((f) => f.type === 'publish')).toEqual({ type: 'publish', topic: 'x-room', data: { type: 'announce', from: 's' }, clients: 1 })
    for (const r of [a0, b0]) expect(await r.next((f) => f.type === 'publish')).toEqual({ type: 'publish', topic: 'x-room', data: { type: 'announce', from: 's' }, clients: 2 })
    // Order is kept across nodes.
    for (let i = 0; i < 50; i++) sender.send({ type: 'publish', topic: 'x-room', n: i })
    for (let i = 0; i < 50; i++) expect((await a0.next((f) => f.type === 'publish')).n).toBe(i)
  })

  it('keeps apps apart across nodes', async () => {
    const token = await mintToken(SECRET, { appId: APP_ID, uid: 'u' })
    const [authed0, anon0, authed1] = [await open(0, `?token=${token}`), await open(0), await open(1, `?app=${APP_ID}`)]
    for (const r of [authed0, anon0]) r.send({ type: 'subscribe', topics: ['apps'] })
    for (const r of [authed0, anon0]) {
      r.send({ type: 'ping' })
      await r.next((f) => f.type === 'pong')
    }
    authed1.send({ type: 'publish', topic: 'apps', data: 'test-app only' })
    expect((await authed0.next((f) => f.type === 'publish')).data).toBe('test-app only')
    anon0.send({ type: 'ping' })
    await anon0.next((f) => f.type === 'pong')
    expect(anon0.frames.filter((f) => f.type === 'publish')).toEqual([])
  })

  it('y-webrtc providers on different nodes share a document; a late joiner on either node syncs', async () => {
    // One after the other: two y-webrtc providers announcing at once can glare and never connect.
    const a = await YPeer.start(yurl(0), 'cluster-doc')
    peers.push(a)
    const b = await YPeer.start(yurl(1), 'cluster-doc')
    peers.push(b)
    await a.until((p) => p.peers.length === 1, 20_000, 'a (node 0) linked to b (node 1)')
    await a.set('a', 'node-0')
    await b.set('b', 'node-1')
    await b.until((p) => p.map.a === 'node-0', 20_000, "a's write at b")
    await a.until((p) => p.map.b === 'node-1', 20_000, "b's write at a")
    const c = await YPeer.start(yurl(1), 'cluster-doc')
    peers.push(c)
    await c.until((p) => p.map.a === 'node-0' && p.map.b === 'node-1', 20_000, 'the late joiner synced')
  }, 60_000)
})
