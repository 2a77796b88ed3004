/**
 * Peer message round trip: from sendMessageToPeer until RECEIVED_BY_PEER (the receiver's
 * acknowledgement came back), over the direct WebRTC link and over the rendezvous relay.
 * The rendezvous is its own process; both clients run here.
 */
import { afterAll, it } from 'vitest'
import { PeerMessageState, type PlazaClient } from '@plaza/client'
import { closeClients, linkOpen, loggedIn } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { ms, report, stats } from './report.js'

const N = Number(process.env.BENCH_N ?? 1000)
const WARMUP = 50

let node: RendezvousProcess
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

async function measure(from: PlazaClient, to: string, expectPath: string): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < WARMUP + N; i++) {
    const t0 = performance.now()
    const r = await from.sendMessageToPeer({ text: `ping ${i}` }, to)
    const dt = performance.now() - t0
    if (r.state !== PeerMessageState.RECEIVED_BY_PEER || r.path !== expectPath) {
      throw new Error(`message ${i}: ${r.state} via ${r.path}, expected ${expectPath}`)
    }
    if (i >= WARMUP) samples.push(dt)
  }
  return samples
}

it('peer message RTT, direct vs relay', async () => {
  node = await startRendezvous()
  const a = await loggedIn(node, 'bench-a')
  await loggedIn(node, 'bench-b')
  await a.sendMessageToPeer({ text: 'open the link' }, 'bench-b')
  await linkOpen(a, 'bench-b')
  const direct = stats(await measure(a, 'bench-b', 'direct'))

  const ra = await loggedIn(node, 'bench-ra', { directLinks: false })
  await loggedIn(node, 'bench-rb', { directLinks: false })
  const relay = stats(await measure(ra, 'bench-rb', 'relay'))

  report(
    'peer-rtt',
    'Peer message round trip (send → RECEIVED_BY_PEER)',
    'npm run bench -- rtt',
    [
      ['path', 'messages', 'median', 'p99', 'mean'],
      ['direct (WebRTC data channel)', String(direct.n), ms(direct.median), ms(direct.p99), ms(direct.mean)],
      ['relay (through the rendezvous)', String(relay.n), ms(relay.median), ms(relay.p99), ms(relay.mean)],
      ['ratio relay / direct', '', (relay.median / direct.median).toFixed(2), (relay.p99 / direct.p99).toFixed(2), ''],
    ],
    [
      `One message at a time, ${N} each after ${WARMUP} warm-up; 32-byte text; clients in one Node process with @roamhq/wrtc, the rendezvous in another, over loopback. RTT includes the receiver's acknowledgement travelling back on the same path.`,
    ],
  )
})
