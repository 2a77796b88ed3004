/** Presence fan-out: one user goes OFFLINE; how long until each of N subscribers hears it. */
import { resolve } from 'node:path'
import { spawn } from 'node:child_process'
import { afterAll, it } from 'vitest'
import { APP_ID, SECRET, MANY_CONNECTIONS, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { ms, report } from './report.js'

const N = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000)
let node: RendezvousProcess
afterAll(() => stopRendezvous(node))

it('presence fan-out to 10k subscribers', async () => {
  node = await startRendezvous({ args: MANY_CONNECTIONS })
  const child = spawn(process.execPath, [resolve(__dirname, 'servers/loadgen.mjs'), 'fanout', node.url, String(N)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PLAZA_APP: APP_ID, PLAZA_SECRET: SECRET },
  })
  let text = ''
  child.stdout.on('data', (d) => (text += d))
  await new Promise((r) => child.once('exit', r))
  const r = JSON.parse(text.trim().split('\n').at(-1)!) as Record<string, number>
  report('fanout', 'Presence fan-out: one status change to many subscribers', 'npm run bench -- fanout', [
    ['subscribers', 'received', 'p50', 'p99', 'last'],
    [String(r.subscribers), String(r.received), ms(r.p50), ms(r.p99), ms(r.max)],
  ], [
    `${N} subscriber sessions in one load-generator process, each subscribed to one user; that user logs out; latency from sending LOGOUT to each subscriber's OFFLINE event. The node is its own process, on loopback.`,
  ])
})
