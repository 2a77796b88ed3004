/**
 * What one node holds and moves: idle authenticated sessions and memory per session (after a full
 * GC), and signaling relay throughput with the server's CPU — Plaza's rendezvous against the
 * y-webrtc signaling server and peerjs-server, each on loopback, each loaded by the same separate
 * load-generator process.
 */
import { afterAll, it } from 'vitest'
import { child, cpuOf, fmt, int } from './lib.js'
import { idleRun, startSessionServers, type SessionServer } from './loads.js'
import { report } from './report.js'

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000)
const SIGNALS = Number(process.env.BENCH_SIGNALS ?? 50_000)

let servers: SessionServer[] = []
afterAll(async () => {
  for (const s of servers) await s.stop()
})

it('capacity: idle sessions, memory per session, signaling throughput', async () => {
  servers = await startSessionServers()
  const rows: string[][] = [
    ['server', 'idle sessions held', 'memory per session (heap + external after GC)', 'RSS per session (after GC)', 'signaling messages/s (A→B)', 'server CPU during signaling', 'server CPU µs per signal'],
  ]
  const results: { perSession: number; rss: number; perSecond: number; cpuUs: number }[] = []
  for (const s of servers) {
    const idle = await idleRun(s, SESSIONS)
    const cpu0 = cpuOf(s.pid)
    const t0 = performance.now()
    const sig = await child('servers/loadgen.mjs', ['signal', s.kind, s.url, String(SIGNALS)]).next<{ perSecond: number }>(300_000)
    const cpu = cpuOf(s.pid) - cpu0
    const wall = (performance.now() - t0) / 1000
    const r = { perSession: idle.perSession, rss: idle.rssPerSession, perSecond: sig.perSecond, cpuUs: (cpu / SIGNALS) * 1e6 }
    results.push(r)
    rows.push([
      s.name,
      int(idle.held),
      `${fmt(r.perSession / 1024, 1)} KiB`,
      `${fmt(r.rss / 1024, 1)} KiB`,
      int(r.perSecond),
      `${fmt((cpu / wall) * 100, 0)}% of a core`,
      fmt(r.cpuUs, 1),
    ])
  }
  const [plaza, ...others] = results
  const ratios = (f: (r: (typeof results)[0]) => number) => others.map((o) => fmt(f(plaza) / f(o))).join(', ')
  rows.push(['ratios Plaza / y-webrtc, Plaza / peerjs', '', ratios((r) => r.perSession), ratios((r) => r.rss), ratios((r) => r.perSecond), '', ratios((r) => r.cpuUs)])
  report('capacity', 'Rendezvous capacity against y-webrtc signaling and peerjs-server', 'npm run bench -- capacity', rows, [
    `Each server is its own process on loopback, loaded by one separate load-generator process (test/bench/servers/loadgen.mjs). Sessions: ${int(SESSIONS)} WebSockets each — Plaza logged in with a token and pinging every 2 s as its clients do, y-webrtc subscribed to a topic, peerjs registered with an id.`,
    'Memory per session: each server process carries a GC probe (test/bench/servers/gc-probe.cjs, preloaded with NODE_OPTIONS=--require; on SIGUSR2 it runs a full gc() and writes process.memoryUsage()). It is read before the sessions and 3 s after the last one opened; memory per session = growth of V8 heap used + external (ArrayBuffers included) / sessions held. RSS read after the same GCs is shown too: it adds the native socket state (the same for all three, all on ws) and pages V8 keeps after a GC.',
    `Signaling: ${SIGNALS.toLocaleString('en')} candidate-sized messages from A to B as fast as A can write them; y-webrtc publishes to a topic only B subscribes to (one copy per delivery, as Plaza and peerjs send). Server CPU: user + system time of the server process (/proc/<pid>/stat) over the signaling run, as a share of the wall time and per message; the load generator runs on the other core, so a server near 100% is the bottleneck.`,
    'Plaza does more per session (authentication, presence, liveness, rate limits, a resumable session), so its memory per session is expected to be higher; issue 12 sets the goal of ≤ 1.0× y-webrtc at 10k sessions.',
  ])
}, 15 * 60_000)
