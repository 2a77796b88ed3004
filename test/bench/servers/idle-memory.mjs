// Memory per idle session after a full GC: the Plaza node against the y-webrtc signaling server,
// each loaded by the same separate load-generator process (loadgen.mjs sessions).
//   node test/bench/servers/idle-memory.mjs [sessions=10000] [plaza,ywebrtc] [rounds=1]
// Prints, per server and round, RSS and heap growth per session in KiB, then the median of the
// rounds (RSS swings run to run with what malloc keeps; the heap after GC is steadier).
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = resolve(here, '../../..')
const N = Number(process.argv[2] ?? 10_000)
const KINDS = (process.argv[3] ?? 'plaza,ywebrtc').split(',')
const ROUNDS = Number(process.argv[4] ?? 1)
const APP = 'bench-app'
const SECRET = 'bench-secret-bench-secret'
const PROBE = ['--expose-gc', '--require', join(here, 'gc-probe.cjs')]
const MANY = ['--handshakes-per-address', '1000000/1000', '--max-connections-per-address', '100000', '--max-connections', '100000']

const freePort = () =>
  new Promise((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => r(p))
    })
  })
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Starts a server with the probe; resolves once a line on its output matches `ready`. */
function start(args, env, ready) {
  const proc = spawn(process.execPath, [...PROBE, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  const probes = []
  createInterface({ input: proc.stderr }).on('line', (l) => {
    if (l.startsWith('GCPROBE ')) probes.shift()?.(JSON.parse(l.slice(8)))
  })
  const probe = () => new Promise((r) => (probes.push(r), proc.kill('SIGUSR2')))
  return new Promise((res, rej) => {
    const onLine = (l) => ready.test(l) && res({ proc, probe })
    createInterface({ input: proc.stdout }).on('line', onLine)
    proc.once('exit', (c) => rej(new Error(`server exited ${c}`)))
  })
}

function loadgen(kind, url, n) {
  const child = spawn(process.execPath, [join(here, 'loadgen.mjs'), 'sessions', kind, url, String(n)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, PLAZA_APP: APP, PLAZA_SECRET: SECRET },
  })
  return new Promise((res, rej) => {
    createInterface({ input: child.stdout }).once('line', () => res(child))
    child.once('exit', (c) => rej(new Error(`loadgen exited ${c}`)))
  })
}

async function measure(kind) {
  const port = await freePort()
  const server =
    kind === 'plaza'
      ? await start([join(root, 'rendezvous/dist/bin.js'), '--port', String(port), '--host', '127.0.0.1', '--data-dir', mkdtempSync(join(tmpdir(), 'plaza-mem-')), '--app', `${APP}:${SECRET}`, ...MANY], {}, /"msg":"listening"/)
      : await start([join(root, 'node_modules/y-webrtc/bin/server.js')], { PORT: String(port) }, /running on/)
  if (kind === 'plaza') await sleep(500)
  await server.probe() // settle what start-up left behind
  const before = await server.probe()
  const gen = await loadgen(kind, `ws://127.0.0.1:${port}`, N)
  await sleep(5000) // several ping rounds: the steady state of an idle session
  const after = await server.probe()
  gen.stdin.end()
  gen.kill('SIGKILL')
  server.proc.kill('SIGKILL')
  const per = (k) => (after[k] - before[k]) / N / 1024
  return { server: kind, sessions: N, rssKiB: +per('rss').toFixed(2), heapTotalKiB: +per('heapTotal').toFixed(2), heapKiB: +per('heapUsed').toFixed(2), externalKiB: +per('external').toFixed(2) }
}

const results = new Map(KINDS.map((k) => [k, []]))
for (let r = 0; r < ROUNDS; r++) {
  for (const kind of KINDS) {
    const m = await measure(kind)
    results.get(kind).push(m)
    console.log(JSON.stringify({ round: r + 1, ...m }))
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
if (ROUNDS > 1) {
  for (const [kind, ms] of results) {
    const row = { median: kind, sessions: N, rounds: ROUNDS }
    for (const k of ['rssKiB', 'heapTotalKiB', 'heapKiB']) row[k] = median(ms.map((m) => m[k]))
    console.log(JSON.stringify(row))
  }
}
