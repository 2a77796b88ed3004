import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { FrameType, RelayStatus } from '@plaza/protocol'
import { closeClients, makeClient } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { RawClient, textFrame } from '../../helpers/raw-client.js'
import { until, type EventSource } from '../../helpers/wait.js'
import { textOf } from './util.js'

// Found by an outside attack after the issue 9 work: a sender killed (kill -9) right after its
// messages were answered CACHED_BY_SERVER, before it saved that, relays them all again after
// its reload (as it must: it cannot know). The node stored each twice, so that 170 messages to a
// receiver (120 from one sender, 50 from another that reloaded) overflowed the cap of 200 and
// the receiver lost 20 of the first sender's. The node keeps a (stream, seq) once.
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

let reqIds = 1
/** Relays `seqs` of `stream` as offline messages; resolves when each is answered STORED. */
async function store(sender: RawClient, to: string, stream: string, seqs: number[], tag: string): Promise<void> {
  const base = reqIds
  reqIds += seqs.length
  seqs.forEach((seq, i) => sender.send({ type: FrameType.RELAY_TO, reqId: base + i, to, offline: true, payload: textFrame(stream, seq, 1, `${tag}${seq}`) }))
  for (let i = 0; i < seqs.length; i++) {
    const r = await sender.next((f) => f.type === FrameType.RELAY_RESULT && f.reqId === base + i)
    expect(r).toMatchObject({ status: RelayStatus.STORED })
  }
}

describe('a sender that relays its stored messages again after a reload', () => {
  it('does not make the node drop anyone’s messages under the cap', async () => {
    const b = await RawClient.open(node.url)
    await b.login('sa-b', await node.token('sa-b'))
    const a = await RawClient.open(node.url)
    await a.login('sa-a', await node.token('sa-a'))
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i)
    await store(b, 'sa-r', 'b.1', range(1, 120), 'b')
    await store(a, 'sa-r', 'a.1', range(1, 50), 'a')
    // A's page reloads and relays its 50 again (same stream, same seqs), then goes on.
    await store(a, 'sa-r', 'a.1', range(1, 50), 'a')
    await store(a, 'sa-r', 'a.1', range(51, 10), 'a')

    const r = makeClient(node, { directLinks: false })
    const got: string[] = []
    const dropped: [string, number][] = []
    r.on('MessageFromPeer', (m) => got.push(textOf(m)))
    ;(r as unknown as EventSource).on('OfflineMessagesDropped', (from: string, count: number) => dropped.push([from, count]))
    await r.login({ uid: 'sa-r', token: await node.token('sa-r') })
    await until(() => got.length >= 180, 15_000, 'the 180 stored messages')
    expect(got.filter((t) => t.startsWith('b'))).toEqual(range(1, 120).map((n) => `b${n}`))
    expect(got.filter((t) => t.startsWith('a'))).toEqual(range(1, 60).map((n) => `a${n}`))
    expect(got.length).toBe(180)
    expect(dropped).toEqual([])
    a.close()
    b.close()
  })
})
