/**
 * What one node holds and moves: idle authenticated sessions and memory per session, and
 * signaling relay throughput — Plaza's rendezvous against the y-webrtc signaling server and
 * peerjs-server, each on loopback, each loaded by the same separate load-generator process.
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, it } from 'vitest'
import { APP_ID, SECRET, MANY_CONNECTIONS, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { startServer } from './procs.js'
import { report } from './report.js'

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 5000)
const SIGNALS = Number(process.env.BENCH_SIGNALS ?? 50_000)
const LOADGEN = resolve(__dirname, 'servers/loadgen.mjs')
const root = resolve(__dirname, '../..')

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024
const freePort = () =>
  new Promise<number>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => r(p))
    })
  })

/** Runs the load generator and resolves with its first JSON line (it keeps running for `sessions`). */
function runLoadgen(args: string[]): Promise<{ line: Record<string, number>; stop(): void }> {
  const child = spawn(process.execPath, [LOADGEN, ...args], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, PLAZA_APP: APP_ID, PLAZA_SECRET: SECRET } })
  return new Promise((resolveLine, reject) => {
    let buf = ''
    child.stdout.on('data', (d: Buffer) => {
      buf += d
      const nl = buf.indexOf('\n')
      if (nl >= 0) resolveLine({ line: JSON.parse(buf.slice(0, nl)), stop: () => child.kill('SIGKILL') })
    })
    child.once('exit', (code) => reject(new Error(`loadgen exited ${code}`)))
  })
}

interface Target {
  name: string
  kind: 'plaza' | 'ywebrtc' | 'peerjs'
  url: string
  pid: number
  stop(): Promise<void> | void
}

async function startTargets(): Promise<Target[]> {
  const node: RendezvousProcess = await startRendezvous({ args: [...MANY_CONNECTIONS, '--rate-limit', 'signaling=10000000/1000'] })
  const yPort = await freePort()
  const y = await startServer([process.execPath, resolve(root, 'node_modules/y-webrtc/bin/server.js')], { PORT: String(yPort) }, /running on localhost:\s*(\d+)/)
  const pPort = await freePort()
  const p = await startServer(
    [process.execPath, resolve(root, 'node_modules/peer/dist/bin/peerjs.js'), '--port', String(pPort), '--host', '127.0.0.1', '-c', '1000000'],
    {},
    /Started PeerServer on .*port: (\d+)/,
  )
  return [
    { name: 'Plaza rendezvous', kind: 'plaza', url: node.url, pid: node.proc.pid!, stop: () => stopRendezvous(node) },
    { name: 'y-webrtc signaling', kind: 'ywebrtc', url: `ws://127.0.0.1:${yPort}`, pid: y.proc.pid!, stop: () => y.stop() },
    { name: 'peerjs-server', kind: 'peerjs', url: `ws://127.0.0.1:${pPort}`, pid: p.proc.pid!, stop: () => p.stop() },
  ]
}

let targets: Target[] = []
afterAll(async () => {
  for (const t of targets) await t.stop()
})

it('capacity: idle sessions, memory per session, signaling throughput', async () => {
  targets = await startTargets()
  const rows: string[][] = [['server', `idle sessions held`, 'RSS before → after', 'memory per session', 'signaling messages/s (A→B)']]
  const results: { name: string; perSession: number; perSecond: number }[] = []
  for (const t of targets) {
    const before = rssOf(t.pid)
    const held = await runLoadgen(['sessions', t.kind, t.url, String(SESSIONS)])
    await new Promise((r) => setTimeout(r, 2000)) // let the server settle after the burst
    const after = rssOf(t.pid)
    held.stop()
    const sig = await runLoadgen(['signal', t.kind, t.url, String(SIGNALS)])
    const perSession = (after - before) / held.line.ready
    results.push({ name: t.name, perSession, perSecond: sig.line.perSecond })
    rows.push([
      t.name,
      String(held.line.ready),
      `${(before / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MiB`,
      `${(perSession / 1024).toFixed(1)} KiB`,
      sig.line.perSecond.toLocaleString('en'),
    ])
  }
  const plaza = results[0]
  rows.push(['ratios Plaza / y-webrtc, Plaza / peerjs', '', '', results.slice(1).map((r) => (plaza.perSession / r.perSession).toFixed(2)).join(', '), results.slice(1).map((r) => (plaza.perSecond / r.perSecond).toFixed(2)).join(', ')])
  report('capacity', 'Rendezvous capacity against y-webrtc signaling and peerjs-server', 'npm run bench -- capacity', rows, [
    `Each server is its own process on loopback, loaded by one separate load-generator process (test/bench/servers/loadgen.mjs). Sessions: ${SESSIONS} WebSockets each — Plaza logged in with a token and pinging every 2 s as its clients do, y-webrtc subscribed to a topic, peerjs registered with an id. Memory per session = growth of the server's RSS / sessions. Signaling: ${SIGNALS.toLocaleString('en')} candidate-sized messages from A to B as fast as A can write them (y-webrtc publishes to a topic that A and B share, so it also echoes to A).`,
    'Plaza does more per session (authentication, presence, liveness, rate limits, a resumable session), so its memory per session is expected to be higher; what matters is the order of magnitude per 10k users.',
  ])
})
