/**
 * Peer message round trip: from sendMessageToPeer until RECEIVED_BY_PEER (the receiver's
 * acknowledgement came back), over the direct WebRTC link and over the rendezvous relay, against a
 * raw data channel echo (the floor) and a Socket.IO relay; the paths round-robin in several rounds.
 * The rendezvous and the Socket.IO server are their own processes; the clients run here.
 */
import { afterAll, it } from 'vitest'
import { PeerMessageState, createClient } from '@plaza/client'
import { closeClients, linkOpen } from '../helpers/clients.js'
import { APP_ID, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { fmt } from './lib.js'
import { DIRECT_NODE_ARGS, PAYLOAD, PROCESS_WARMUP, RTT_NAMES, RTT_PATHS, RTT_WARMUP, rttRounds, rttSummary } from './paths.js'
import { ms, report, stats } from './report.js'

const N = Number(process.env.BENCH_N ?? 1000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

/** A never-contacted peer: time to RECEIVED_BY_PEER of the first message, and until the direct link is up. */
async function firstContact(node: RendezvousProcess, pairs: number): Promise<{ first: number[]; link: number[] }> {
  const first: number[] = []
  const link: number[] = []
  for (let i = 0; i < pairs; i++) {
    const a = createClient(APP_ID, { rendezvousUrl: node.url })
    const b = createClient(APP_ID, { rendezvousUrl: node.url })
    await a.login({ uid: `fc-a${i}`, token: await node.token(`fc-a${i}`) })
    await b.login({ uid: `fc-b${i}`, token: await node.token(`fc-b${i}`) })
    const t0 = performance.now()
    const r = await a.sendMessageToPeer({ text: PAYLOAD }, `fc-b${i}`)
    first.push(performance.now() - t0)
    if (r.state !== PeerMessageState.RECEIVED_BY_PEER) throw new Error(`first contact ${i}: ${r.state}`)
    await linkOpen(a, `fc-b${i}`)
    link.push(performance.now() - t0)
    await a.logout()
    await b.logout()
  }
  return { first, link }
}

let node: RendezvousProcess
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

it('peer message RTT: raw channel, Plaza direct, Plaza relay, Socket.IO', async () => {
  node = await startRendezvous({ args: DIRECT_NODE_ARGS })
  const run = await rttRounds(node, ROUNDS, N)
  const { rounds, cold } = run
  const s = rttSummary(run)
  const fc = await firstContact(node, 20)
  const first = stats(fc.first)
  const linkUp = stats(fc.link)
  const floor = s.floor
  report(
    'peer-rtt',
    'Peer message round trip (send → acknowledged)',
    'npm run bench -- rtt',
    [
      ['path', 'messages', 'median', 'p99', 'median / floor', 'p99 / floor'],
      ...RTT_PATHS.map((p) => [RTT_NAMES[p], String(s[p].n), ms(s[p].median), ms(s[p].p99), fmt(s[p].medianRatio), fmt(s[p].p99Ratio)]),
      ['first message to a never-contacted peer (relay, cold)', String(first.n), ms(first.median), ms(first.p99), fmt(first.median / floor.median), fmt(first.p99 / floor.p99)],
      ['… until the direct link is open', String(linkUp.n), ms(linkUp.median), ms(linkUp.p99), fmt(linkUp.median / floor.median), fmt(linkUp.p99 / floor.p99)],
    ],
    [
      `${ROUNDS} rounds of ${N} round trips per path, one message at a time, 32-byte text on every path. In each round the raw channel and Plaza direct take turns in blocks of 50 round trips (which goes first alternates), so that both see the machine in the same state; Plaza relay and Socket.IO run before or after that pair, each alone (the order rotated each round). Each path is warmed up with ${RTT_WARMUP} round trips at the start of each round, and the process with ${PROCESS_WARMUP} on the raw channel and Plaza direct (and ${PROCESS_WARMUP / 5} on the relay) before the first round. Median and p99 are the median over rounds of each round's figure; the ratios are to the same round's floor (raw channel), then the median over rounds. Per round, direct median/p99 ratios: ${rounds.map((r) => `${fmt(r.path.direct.median / r.path.floor.median)}/${fmt(r.path.direct.p99 / r.path.floor.p99)}`).join(', ')}.`,
      `Before any warm-up (the process fresh, the same paired blocks, ${N} round trips each): raw ${ms(cold.floor.median)} / ${ms(cold.floor.p99)}, Plaza direct ${ms(cold.direct.median)} / ${ms(cold.direct.p99)} (median / p99; ratios ${fmt(cold.direct.median / cold.floor.median)} / ${fmt(cold.direct.p99 / cold.floor.p99)}) — until V8 has compiled the SDK's code, a few thousand messages into a process, Plaza's tail is longer.`,
      'Plaza\'s direct pair stays logged in while the raw channel runs (its two clients idle between blocks); the relay pair logs in for its own path only, so Socket.IO runs with no Plaza client in the process. Clients run in the bench process (@roamhq/wrtc); the rendezvous (--link-policy always, so a one-way sender gets its direct link; its message rate limit raised, as is the clients\', neither being what is measured) and the Socket.IO server each run in their own process; all over loopback. Round trips include the receiver\'s acknowledgement travelling back on the same path. First contact: 20 fresh pairs, after the rounds; its ratios are to the floor\'s median over rounds.',
      'Loopback favours the server paths (no network distance, no server load); the direct path pays SCTP/DTLS costs that a relay hop across the internet would dwarf.',
    ],
  )
}, 15 * 60_000)
