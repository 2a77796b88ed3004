/**
 * One node against three on one Redis, side by side in one run (rounds interleaved): relayed
 * peer messages per second (sender and receiver on different nodes when there are several),
 * logins per second, a presence change to subscribers spread over the nodes, and what it costs:
 * CPU per relayed message in the nodes and in Redis, memory per idle session on each engine.
 * Load comes from a separate process (test/bench/servers/loadgen.mjs). This machine has 2
 * cores: three nodes and Redis share them, so the figures say what a node and Redis cost, not
 * what three machines would do.
 */
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, it } from 'vitest'
import { startRedis, type RedisProcess } from '../helpers/redis.js'
import { APP_ID, MANY_CONNECTIONS, SECRET, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { report } from './report.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const PAIRS = 20
const PER_PAIR = 2000
const LOGINS = 2000
const SUBSCRIBERS = 2000
const IDLE = 2000
const FAST = [...MANY_CONNECTIONS, '--rate-limit', 'messages=10000000/1000', '--rate-limit', 'presenceQueries=100000/1000']

let redis: RedisProcess
afterAll(() => redis?.stop())

/** CPU seconds (user + system) a process has used. */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

async function loadgen(...args: string[]): Promise<Record<string, number>> {
  const child = spawn(process.execPath, [resolve(__dirname, 'servers/loadgen.mjs'), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, PLAZA_APP: APP_ID, PLAZA_SECRET: SECRET },
  })
  let text = ''
  child.stdout.on('data', (d) => (text += d))
  await new Promise((r) => child.once('exit', r))
  return JSON.parse(text.trim().split('\n').at(-1)!) as Record<string, number>
}

interface Setup {
  name: string
  nodes: number
  engine: 'local' | 'redis'
}
const SETUPS: Setup[] = [
  { name: 'one node, in-process engine', nodes: 1, engine: 'local' },
  { name: 'one node on Redis', nodes: 1, engine: 'redis' },
  { name: 'three nodes on one Redis', nodes: 3, engine: 'redis' },
]

async function start(setup: Setup): Promise<RendezvousProcess[]> {
  if (setup.engine === 'redis') execFileSync('redis-cli', ['-p', String(redis.port), 'flushall'])
  const engine = setup.engine === 'redis' ? ['--engine', 'redis', '--redis-url', redis.url] : []
  return Promise.all(Array.from({ length: setup.nodes }, (_, i) => startRendezvous({ args: [...FAST, ...engine, '--node-id', `bench-${i}`] })))
}

it('cluster: one node against three on one Redis', async () => {
  redis = await startRedis()
  const results = new Map<string, { relay: number[]; logins: number[]; fanoutP50: number[]; fanoutP99: number[]; nodeCpuPerMsg: number[]; redisCpuPerMsg: number[] }>()
  for (const s of SETUPS) results.set(s.name, { relay: [], logins: [], fanoutP50: [], fanoutP99: [], nodeCpuPerMsg: [], redisCpuPerMsg: [] })
  for (let round = 0; round < ROUNDS; round++) {
    for (const setup of SETUPS) {
      const nodes = await start(setup)
      const urls = nodes.map((n) => n.url).join(',')
      const r = results.get(setup.name)!
      const cpu0 = nodes.map((n) => cpuOf(n.proc.pid!))
      const redis0 = cpuOf(redis.proc.pid!)
      const relay = await loadgen('relay', urls, String(PAIRS), String(PER_PAIR))
      const nodeCpu = nodes.reduce((sum, n, i) => sum + cpuOf(n.proc.pid!) - cpu0[i], 0)
      const redisCpu = setup.engine === 'redis' ? cpuOf(redis.proc.pid!) - redis0 : 0
      r.relay.push(relay.perSecond)
      r.nodeCpuPerMsg.push((nodeCpu / relay.received) * 1e6)
      r.redisCpuPerMsg.push((redisCpu / relay.received) * 1e6)
      r.logins.push((await loadgen('logins', urls, String(LOGINS))).perSecond)
      const fan = await loadgen('fanout', urls, String(SUBSCRIBERS))
      r.fanoutP50.push(fan.p50)
      r.fanoutP99.push(fan.p99)
      await Promise.all(nodes.map((n) => stopRendezvous(n)))
    }
  }
  // Memory per idle session on each engine (one node).
  const memory: string[] = []
  for (const setup of SETUPS.slice(0, 2)) {
    const [node] = await start(setup)
    const before = rssOf(node.proc.pid!)
    const child = spawn(process.execPath, [resolve(__dirname, 'servers/loadgen.mjs'), 'sessions', 'plaza', node.url, String(IDLE)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, PLAZA_APP: APP_ID, PLAZA_SECRET: SECRET },
    })
    await new Promise<void>((r) => child.stdout.on('data', (d) => String(d).includes('ready') && r()))
    await new Promise((r) => setTimeout(r, 2000))
    const after = rssOf(node.proc.pid!)
    memory.push(`${setup.name}: ${(((after - before) / IDLE) / 1024).toFixed(1)} KiB per idle session (${IDLE} sessions, RSS ${(before / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MiB)`)
    child.stdin.end()
    child.kill('SIGKILL')
    await stopRendezvous(node)
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const base = results.get(SETUPS[0].name)!
  const rows = [...results].map(([name, r]) => [
    name,
    med(r.relay).toLocaleString('en'),
    (med(r.relay) / med(base.relay)).toFixed(2),
    med(r.nodeCpuPerMsg).toFixed(0),
    r.redisCpuPerMsg.some((x) => x > 0) ? med(r.redisCpuPerMsg).toFixed(0) : '—',
    med(r.logins).toLocaleString('en'),
    `${med(r.fanoutP50).toFixed(0)} / ${med(r.fanoutP99).toFixed(0)} ms`,
  ])
  report(
    'cluster',
    'Cluster: one node against three on one Redis',
    'npm run bench -- cluster',
    [['setup', 'relayed messages/s', 'ratio', 'node CPU µs per message (all nodes)', 'Redis CPU µs per message', 'logins/s', `presence to ${SUBSCRIBERS} subscribers p50 / p99`], ...rows],
    [
      `Median of ${ROUNDS} rounds, the setups interleaved in each round. Relay: ${PAIRS} pairs × ${PER_PAIR} messages of ~100 bytes sent as raw RELAY_TO frames with up to 64 in flight per sender (the SDK's window); with three nodes each sender is on one node and its receiver on the next, so every message crosses nodes through Redis. Logins: ${LOGINS} sessions spread over the nodes, 100 at a time. Presence: ${SUBSCRIBERS} subscribers spread over the nodes; one user on the first node logs out; latency to each subscriber's OFFLINE.`,
      `All processes share this machine's 2 cores (the load generator is one process; Redis one; each node one), so three nodes cannot be faster here: what the table gives is the cost of a message in the nodes and in Redis, for sizing — a node on its own machine is bounded by its CPU per message, Redis by its own.`,
      ...memory,
    ],
  )
}, 30 * 60_000)
