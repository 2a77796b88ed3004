/**
 * Relay through each system's own client library, 10 senders → 10 receivers, each side its own
 * process: Plaza's SDK through a node, Socket.IO's client through a Socket.IO relay, a raw ws
 * client through a raw ws relay. Throughput as fast as each goes, and server CPU per delivered
 * message at one paced load for all three.
 */
import { afterAll, it } from 'vitest'
import { fmt, int, median, rotate } from './lib.js'
import { RELAY_NAMES, relayRun, startRelayServers, type RelayKind, type RelayRun, type RelayServer } from './loads.js'
import { report } from './report.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const PAIRS = 10
const COUNT = Number(process.env.BENCH_RELAY_COUNT ?? 2000)
const SIZE = Number(process.env.BENCH_RELAY_SIZE ?? 100)
const RATE = Number(process.env.BENCH_CPU_RATE ?? 3000)
const KINDS: RelayKind[] = ['plaza', 'sio', 'ws']
let servers: RelayServer[] = []
afterAll(async () => {
  for (const s of servers) await s.stop()
})

it('relay through the client library, 10 → 10', async () => {
  const byKind = await startRelayServers(KINDS)
  servers = Object.values(byKind)
  const full: Record<RelayKind, RelayRun[]> = { plaza: [], sio: [], ws: [] }
  const paced: Record<RelayKind, RelayRun[]> = { plaza: [], sio: [], ws: [] }
  const pacedCount = Math.round((RATE / PAIRS) * 3)
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of rotate(KINDS, r)) full[k].push(await relayRun(byKind[k], { pairs: PAIRS, count: COUNT, size: SIZE, prefix: `f${r}-` }))
    for (const k of rotate(KINDS, r)) paced[k].push(await relayRun(byKind[k], { pairs: PAIRS, count: pacedCount, size: SIZE, rate: RATE, prefix: `p${r}-` }))
  }
  const m = (runs: RelayRun[], f: (x: RelayRun) => number) => median(runs.map(f))
  const vsSio = (runs: Record<RelayKind, RelayRun[]>, k: RelayKind, f: (x: RelayRun) => number) => fmt(median(runs[k].map((x, i) => f(x) / f(runs.sio[i]))))
  report('relay', 'Relay through the client library, 10 → 10', 'npm run bench -- relay', [
    ['system', 'messages/s', '/ Socket.IO', 'server CPU µs per message (full speed)', 'server CPU', `server CPU µs per message at ${int(RATE)}/s`, '/ Socket.IO', 'failed'],
    ...KINDS.map((k) => [
      RELAY_NAMES[k],
      int(m(full[k], (x) => x.perSecond)),
      vsSio(full, k, (x) => x.perSecond),
      fmt(m(full[k], (x) => x.cpuUs), 0),
      `${fmt(m(full[k], (x) => x.cpuShare) * 100, 0)}%`,
      fmt(m(paced[k], (x) => x.cpuUs), 0),
      vsSio(paced, k, (x) => x.cpuUs),
      String([...full[k], ...paced[k]].reduce((s, x) => s + x.failed, 0)),
    ]),
  ], [
    `${PAIRS} senders in one process → ${PAIRS} receivers in another (test/bench/servers/relay-load.mjs), each server its own process, all on loopback. ${COUNT} messages of ${SIZE} bytes per pair after 20 warm-up, up to 256 unacknowledged per sender (the SDK's window); every message acknowledged by its receiver back to its sender (Plaza's SDK does it itself, with directLinks off; the Socket.IO and raw ws receivers send a small ack back through their server). Timed from "go" to the last acknowledgement. ${ROUNDS} rounds, the systems in turn (order rotated each round); ratios per round, then the median.`,
    `Server CPU: user + system time of the server process from /proc/<pid>/stat over the run, per delivered message; "at ${int(RATE)}/s" paces all senders together to that rate (${pacedCount} per pair) so that every server carries the same load. Achieved paced rates: ${KINDS.map((k) => `${k} ${int(m(paced[k], (x) => x.perSecond))}/s`).join(', ')}.`,
  ])
}, 15 * 60_000)
