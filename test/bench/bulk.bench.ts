/**
 * Direct-link bulk throughput: Plaza RAW peer messages over an open direct link against a raw
 * @roamhq/wrtc data channel moving the same bytes, 16 KB and 32 KB messages, rounds interleaved.
 */
import { afterAll, it } from 'vitest'
import { closeClients } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { fmt } from './lib.js'
import { DIRECT_NODE_ARGS, bulkRounds, bulkSummary } from './paths.js'
import { report } from './report.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const BYTES = Number(process.env.BENCH_BULK_MB ?? 16) * 1e6
let node: RendezvousProcess
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

it('direct-link bulk throughput against a raw data channel', async () => {
  node = await startRendezvous({ args: DIRECT_NODE_ARGS })
  const rounds = await bulkRounds(node, ROUNDS, [16 * 1024, 32 * 1024], BYTES)
  report('bulk', 'Direct-link bulk throughput against a raw data channel', 'npm run bench -- bulk', [
    ['message size', 'raw data channel', 'Plaza direct link', 'Plaza / raw', 'per round (Plaza / raw)'],
    ...bulkSummary(rounds).map((s) => [
      `${s.size / 1024} KB`,
      `${fmt(s.raw, 1)} MB/s`,
      `${fmt(s.plaza, 1)} MB/s`,
      fmt(s.ratio),
      rounds.filter((r) => r.size === s.size).map((r) => fmt(r.plaza / r.raw)).join(', '),
    ]),
  ], [
    `${(BYTES / 1e6).toFixed(0)} MB per path per round, ${ROUNDS} rounds, raw and Plaza alternating (order rotated each round); median over rounds. Both ends in the bench process, over loopback. Raw: one ordered reliable data channel; the sender keeps ≤ 1 MiB buffered by polling bufferedAmount (@roamhq/wrtc never fires bufferedamountlow and drops data past ~16 MiB buffered). Plaza: sendMessageToPeer RAW messages over the open direct link with up to the SDK's window unacknowledged (min(256, 1 MiB / size) messages), every one RECEIVED_BY_PEER. MB/s = bytes delivered at the receiver / time from the first send.`,
  ])
}, 15 * 60_000)
