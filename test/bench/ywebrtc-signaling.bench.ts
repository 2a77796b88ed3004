/**
 * The node's y-webrtc signaling endpoint (/y-webrtc) against y-webrtc's own server
 * (node_modules/y-webrtc/bin/server.js), each its own process on loopback, the load from separate
 * processes (servers/ywebrtc-load.mjs, servers/loadgen.mjs), rounds interleaved:
 * - relay throughput: one publisher sends signal-sized publish frames as fast as the server takes
 *   them to a topic with 10 and with 100 subscribers; publishes/s and deliveries/s until every
 *   subscriber has every publish, and the server's CPU per publish;
 * - idle memory per socket: sockets each subscribed to a topic of its own, heap + external and RSS
 *   growth after a full GC in the server process.
 */
import { loadavg } from 'node:os'
import { afterAll, expect, it } from 'vitest'
import { MANY_CONNECTIONS, stopRendezvous } from '../helpers/rendezvous.js'
import { child, cpuOf, fmt, int, median, rotate, sleep, startProbedRendezvous } from './lib.js'
import { idleRun, startSessionServers, type SessionServer } from './loads.js'
import { report } from './report.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const PUBLISHES: Record<number, number> = { 10: Number(process.env.BENCH_YW_PUBLISHES_10 ?? 20_000), 100: Number(process.env.BENCH_YW_PUBLISHES_100 ?? 4000) }
const SOCKETS = Number(process.env.BENCH_YW_SOCKETS ?? 10_000)
const MEMORY_ROUNDS = Number(process.env.BENCH_YW_MEMORY_ROUNDS ?? 2)

let servers: SessionServer[] = []
afterAll(async () => {
  for (const s of servers) await s.stop()
})

interface RelayResult {
  publishesPerSecond: number
  deliveriesPerSecond: number
  cpuUsPerPublish: number
  /** Server CPU time / wall time: near 1, the server is the bottleneck; well under, the load is. */
  cpuShare: number
}

async function relayRun(s: SessionServer, subscribers: number, topic: string): Promise<RelayResult> {
  const count = PUBLISHES[subscribers]
  const subs = child('servers/ywebrtc-load.mjs', ['subs', s.url, topic, String(subscribers), String(count)])
  let pub: ReturnType<typeof child> | undefined
  try {
    await subs.next(120_000)
    pub = child('servers/ywebrtc-load.mjs', ['pub', s.url, topic, String(count)])
    await pub.next()
    await sleep(300)
    const cpu0 = cpuOf(s.pid)
    const t0 = performance.now()
    pub.write('go')
    const r = await subs.next<{ received: number }>(600_000)
    const seconds = (performance.now() - t0) / 1000
    const cpu = cpuOf(s.pid) - cpu0
    expect(r.received).toBe(count * subscribers)
    return { publishesPerSecond: count / seconds, deliveriesPerSecond: r.received / seconds, cpuUsPerPublish: (cpu / count) * 1e6, cpuShare: cpu / seconds }
  } finally {
    await Promise.all([subs.kill(), pub?.kill()])
  }
}

it('y-webrtc signaling: the node against y-webrtc bin/server.js', async () => {
  const load0 = loadavg()[0]
  const node = await startProbedRendezvous({
    args: [...MANY_CONNECTIONS, '--ywebrtc-limit', 'framesPerSecond=1000000000', '--ywebrtc-limit', 'subscribersPerTopic=1000000', '--ywebrtc-limit', 'subscribersPerTopicPerAddress=1000000'],
  })
  servers.push({ name: 'Plaza /y-webrtc', kind: 'ywebrtc', url: `${node.url}/y-webrtc`, pid: node.proc.pid!, stop: () => stopRendezvous(node) })
  servers.push(...(await startSessionServers(['ywebrtc'])))
  servers[1].name = 'y-webrtc bin/server.js'
  const [plaza, yws] = servers

  const relay = new Map<string, RelayResult[]>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const subscribers of [10, 100]) {
      for (const s of rotate(servers, round)) {
        const r = await relayRun(s, subscribers, `bench-${round}-${subscribers}`)
        const key = `${s.kind === 'ywebrtc' && s === plaza ? 'plaza' : 'yws'}:${subscribers}`
        relay.set(key, [...(relay.get(key) ?? []), r])
        console.log(`round ${round} ${s.name} ${subscribers} subscribers: ${int(r.publishesPerSecond)} publishes/s, ${int(r.deliveriesPerSecond)} deliveries/s, ${fmt(r.cpuUsPerPublish, 1)} µs CPU per publish`)
      }
    }
  }
  const memory = new Map<SessionServer, { heap: number[]; rss: number[] }>(servers.map((s) => [s, { heap: [], rss: [] }]))
  for (let round = 0; round < MEMORY_ROUNDS; round++) {
    for (const s of rotate(servers, round)) {
      const idle = await idleRun(s, SOCKETS)
      expect(idle.held).toBe(SOCKETS)
      memory.get(s)!.heap.push(idle.perSession)
      memory.get(s)!.rss.push(idle.rssPerSession)
      console.log(`memory round ${round} ${s.name}: ${fmt(idle.perSession / 1024, 2)} KiB heap+external, ${fmt(idle.rssPerSession / 1024, 2)} KiB RSS per socket`)
    }
  }

  const med = (key: string, f: (r: RelayResult) => number) => median(relay.get(key)!.map(f))
  const rows: string[][] = [['measure', plaza.name, yws.name, 'Plaza / y-webrtc']]
  for (const subs of [10, 100]) {
    const line = (what: string, f: (r: RelayResult) => number, show: (x: number) => string) => {
      const [p, y] = [med(`plaza:${subs}`, f), med(`yws:${subs}`, f)]
      rows.push([`${what}, ${subs} subscribers per topic`, show(p), show(y), `${fmt(p / y)}×`])
    }
    line('publishes/s', (r) => r.publishesPerSecond, int)
    line('deliveries/s', (r) => r.deliveriesPerSecond, int)
    line('server CPU per publish (µs)', (r) => r.cpuUsPerPublish, (x) => fmt(x, 1))
    line('server CPU during the run (share of a core)', (r) => r.cpuShare, (x) => `${fmt(x * 100, 0)}%`)
  }
  const mem = (s: SessionServer, k: 'heap' | 'rss') => median(memory.get(s)![k])
  rows.push(['idle memory per socket (heap + external after GC)', `${fmt(mem(plaza, 'heap') / 1024, 2)} KiB`, `${fmt(mem(yws, 'heap') / 1024, 2)} KiB`, `${fmt(mem(plaza, 'heap') / mem(yws, 'heap'))}×`])
  rows.push(['idle RSS per socket (after GC)', `${fmt(mem(plaza, 'rss') / 1024, 2)} KiB`, `${fmt(mem(yws, 'rss') / 1024, 2)} KiB`, `${fmt(mem(plaza, 'rss') / mem(yws, 'rss'))}×`])

  report('ywebrtc-signaling', 'y-webrtc signaling: the node\'s /y-webrtc against y-webrtc\'s own server', 'npm run bench -- ywebrtc-signaling', rows, [
    `Each server is its own process on loopback: the Plaza node (its y-webrtc rate and topic limits raised for the load) and node_modules/y-webrtc/bin/server.js. Medians of ${ROUNDS} rounds, the order of the servers rotated each round.`,
    `Relay: ${int(PUBLISHES[10])} (10 subscribers) or ${int(PUBLISHES[100])} (100 subscribers) publish frames the size of a y-webrtc ICE candidate signal (~330 bytes), from one socket in one process (test/bench/servers/ywebrtc-load.mjs, waiting while more than 1 MiB is unsent) to a topic whose subscribers are sockets in another process; timed from "go" until every subscriber has every publish. Server CPU: user + system time of the server process (/proc/<pid>/stat) over the run, per publish and as a share of the wall time (a server well under 100% is waiting for the load: the subscribers' process then is the bottleneck, and CPU per publish is the fairer comparison). The node serialises a publish once for all its subscribers and sends what a subscriber gets in one turn in one write; y-webrtc's server calls JSON.stringify and writes per subscriber and publish.`,
    `Idle memory: ${int(SOCKETS)} sockets held by test/bench/servers/loadgen.mjs, each subscribed to a topic of its own; growth of V8 heap used + external after a full GC in the server (test/bench/servers/gc-probe.cjs), divided by the sockets; RSS read after the same GC. Medians of ${MEMORY_ROUNDS} rounds.`,
    `Load average (1 min) at the start and end of the run: ${fmt(load0, 1)} → ${fmt(loadavg()[0], 1)} on 2 cores — other work may share this machine (neither server used a whole core): compare the ratios within the run, CPU per publish first.`,
  ])
}, 30 * 60_000)
