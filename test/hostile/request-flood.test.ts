import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FrameType, encodeFrame } from '@plaza/protocol'
import { PeerMessageState } from '@plaza/client'
import { closeClients, loggedIn } from '../helpers/clients.js'
import { RawClient } from '../helpers/raw-client.js'
import { until } from '../helpers/wait.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { rssMb } from './util.js'

// Found by an outside attack: clients that send requests without reading the answers (four
// sockets, 300 batches of 1024 presence queries each) made the node hold 1.2 million small
// answers — 80 → 910 MB — and a login elsewhere timed out. Now a client's input is not read
// while more than 1 MiB of its output waits: its own sends back up instead.
const ATTACKERS = 2
const BATCHES = 300

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

describe('requests from a client that does not read the answers', () => {
  it('are not read past a bound: the flooder backs up, the node stays small, others log in and talk', async () => {
    const query = encodeFrame({ type: FrameType.QUERY_PRESENCE, reqId: 1, uids: Array.from({ length: 10 }, (_, i) => `nobody-${i}`) })
    const batch = encodeFrame({ type: FrameType.BATCH, frames: Array.from({ length: 1024 }, () => query) }) // ~120 KB
    const rssBefore = rssMb(node)
    const attackers: RawClient[] = []
    for (let i = 0; i < ATTACKERS; i++) {
      const raw = await RawClient.open(node.url)
      await raw.login(`flood-${i}`, await node.token(`flood-${i}`))
      raw.ws.pause() // reads nothing from now on
      for (let b = 0; b < BATCHES; b++) raw.ws.send(batch)
      attackers.push(raw)
    }
    // The node stopped reading them: what they sent (~37 MB each) waits on their side, past what
    // the kernel's socket buffers hold.
    await until(() => attackers.every((a) => a.ws.bufferedAmount > 20 * 1024 * 1024), 30_000, 'the flooders backed up')
    const a = await loggedIn(node, 'flood-bystander-a', { directLinks: false })
    await loggedIn(node, 'flood-bystander-b', { directLinks: false })
    expect((await a.sendMessageToPeer({ text: 'hello' }, 'flood-bystander-b')).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
    const rss = rssMb(node)
    console.log(`${ATTACKERS} flooders × ${BATCHES} batches of 1024 queries, not reading: node RSS ${rssBefore} → ${rss} MB; left unsent on their side: ${attackers.map((x) => Math.round(x.ws.bufferedAmount / 2 ** 20)).join(', ')} MiB`)
    expect(rss - rssBefore).toBeLessThan(150)
    for (const x of attackers) x.close()
  }, 60_000)
})
