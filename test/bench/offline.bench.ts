/**
 * Offline store: durable writes per second. Each write is fsynced before it is acknowledged;
 * concurrent writes share one fsync (group commit). Like with like: the store on its own and end to
 * end through a node (a client sending offline messages), each with one writer waiting for each
 * write and with 64 writes in flight, the same 200-byte messages to the same 100 receivers.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, it } from 'vitest'
import { PeerMessageState, type PlazaClient } from '@plaza/client'
import { MessageKind, PeerFrameType, encodePeerFrame } from '@plaza/protocol'
import { openDatabase } from '../../rendezvous/src/store/database.js'
import { LevelOfflineStore } from '../../rendezvous/src/store/offline-store.js'
import { closeClients, loggedIn } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { fmt, int } from './lib.js'
import { report } from './report.js'

const TEXT = 'x'.repeat(200)
const RECEIVERS = 100
let node: RendezvousProcess
const dirs: string[] = []
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Runs `total` jobs, `concurrency` at a time; answers jobs per second. */
async function rate(concurrency: number, total: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await job(next++)
    }),
  )
  return total / ((performance.now() - t0) / 1000)
}

async function storeRate(concurrency: number, total: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'plaza-bench-store-'))
  dirs.push(dir)
  const db = openDatabase(dir)
  await db.open()
  const store = new LevelOfflineStore(db, { perReceiver: 200, retentionMs: 86400_000 })
  // What the node stores for a relayed message: the encoded peer frame of a 200-byte text.
  const payload = (seq: number) =>
    encodePeerFrame({ type: PeerFrameType.MESSAGE, stream: 'bench-stream', channel: '', seq, floor: 1, sentTs: Date.now(), kind: MessageKind.TEXT, text: TEXT, bytes: new Uint8Array(0), description: '' })
  const r = await rate(concurrency, total, (i) => store.put({ appId: 'app', uid: `r${i % RECEIVERS}`, from: 'sender', serverTs: Date.now(), stream: 'bench-stream', seq: i + 1, payload: payload(i + 1) }))
  await store.close()
  await db.close()
  return r
}

async function endToEnd(sender: PlazaClient, tag: string, concurrency: number, total: number): Promise<{ rate: number; cached: number }> {
  let cached = 0
  const r = await rate(concurrency, total, async (i) => {
    const res = await sender.sendMessageToPeer({ text: TEXT }, `ob-${tag}${i % RECEIVERS}`, { enableOfflineMessaging: true })
    if (res.state === PeerMessageState.CACHED_BY_SERVER) cached++
  })
  return { rate: r, cached }
}

it('offline store: durable writes per second', async () => {
  node = await startRendezvous({ args: ['--rate-limit', 'messages=1000000/1000', '--offline-quota-sender', '100000/1000000000'] })
  const sender = await loggedIn(node, 'ob-sender', { directLinks: false, messageRateLimit: { count: 1_000_000, windowMs: 1000 }, messageTimeoutMs: 60_000 })
  const cases = [
    { writers: 1, total: 500 },
    { writers: 64, total: 5000 },
  ]
  const rows: string[][] = [['writers (writes in flight)', 'writes', 'store alone, per second', 'end to end (client → node → store), per second', 'end to end / store', 'CACHED_BY_SERVER']]
  const stores: number[] = []
  for (const c of cases) {
    const store = await storeRate(c.writers, c.total)
    const e2e = await endToEnd(sender, `w${c.writers}-`, c.writers, c.total)
    stores.push(store)
    rows.push([String(c.writers), String(c.total), int(store), int(e2e.rate), fmt(e2e.rate / store), `${e2e.cached} / ${c.total}`])
  }
  rows.push(['group commit: 64 writers / 1 writer (store alone)', '', fmt(stores[1] / stores[0], 1), '', '', ''])
  report('offline', 'Offline store: durable writes per second', 'npm run bench -- offline', rows, [
    `LevelDB (classic-level) with sync writes: a write is acknowledged only after fsync. Each row compares like with like: the same 200-byte text messages (the store is given the encoded peer frame the node stores for one), the same ${RECEIVERS} receivers, the same number of writes in flight — one writer waiting for each write, or 64 at once (the store: 64 concurrent put calls; end to end: one client with 64 offline messages awaiting CACHED_BY_SERVER at once, the node in its own process). Disk: this machine’s virtual disk; fsync cost dominates, so compare the ratios.`,
  ])
})
