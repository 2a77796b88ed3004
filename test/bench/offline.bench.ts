/**
 * Offline store: durable writes per second. Each write is fsynced before it is acknowledged;
 * concurrent writes share one fsync (group commit). Side by side: one writer waiting for each
 * write, and 64 writers at once; then end to end through a node (a client sending offline messages).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, it } from 'vitest'
import { PeerMessageState } from '@plaza/client'
import { openDatabase } from '../../rendezvous/src/store/database.js'
import { LevelOfflineStore } from '../../rendezvous/src/store/offline-store.js'
import { closeClients, loggedIn } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { report } from './report.js'

const payload = new Uint8Array(200)
let node: RendezvousProcess
const dirs: string[] = []
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function storeRate(concurrency: number, total: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'plaza-bench-store-'))
  dirs.push(dir)
  const db = openDatabase(dir)
  await db.open()
  const store = new LevelOfflineStore(db, { perReceiver: 200, retentionMs: 86400_000 })
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++
        await store.put('app', `r${i % 1000}`, 'sender', Date.now(), payload)
      }
    }),
  )
  const rate = total / ((performance.now() - t0) / 1000)
  await store.close()
  await db.close()
  return rate
}

it('offline store: durable writes per second', async () => {
  const one = await storeRate(1, 500)
  const many = await storeRate(64, 5000)
  node = await startRendezvous({ args: ['--rate-limit', 'messages=1000000/1000', '--offline-quota-sender', '100000/1000000000'] })
  const sender = await loggedIn(node, 'ob-sender', { directLinks: false, messageRateLimit: { count: 1_000_000, windowMs: 1000 }, messageTimeoutMs: 60_000 })
  const N = 5000
  const t0 = performance.now()
  const results = await Promise.all(Array.from({ length: N }, (_, i) => sender.sendMessageToPeer({ text: `m${i}` }, `ob-r${i % 100}`, { enableOfflineMessaging: true })))
  const e2e = N / ((performance.now() - t0) / 1000)
  const cached = results.filter((r) => r.state === PeerMessageState.CACHED_BY_SERVER).length
  report('offline', 'Offline store: durable writes per second', 'npm run bench -- offline', [
    ['writer', 'writes', 'per second', 'ratio to one writer'],
    ['one writer, each write fsynced before the next', '500', Math.round(one).toLocaleString('en'), '1.00'],
    ['64 concurrent writers (group commit)', '5000', Math.round(many).toLocaleString('en'), (many / one).toFixed(1)],
    [`end to end: one client → node → store (CACHED_BY_SERVER: ${cached})`, String(N), Math.round(e2e).toLocaleString('en'), (e2e / one).toFixed(1)],
  ], [
    'LevelDB (classic-level) with sync writes: a write is acknowledged only after fsync. 200-byte messages to 1000 (store) or 100 (end to end) receivers. Disk: this machine’s virtual disk; fsync cost dominates, so compare the ratios.',
  ])
})
