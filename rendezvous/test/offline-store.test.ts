import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../src/store/database.js'
import { DocStore } from '../src/store/doc-store.js'
import { ErrorCode } from '@plaza/protocol'
import { LevelOfflineStore, type OfflineStoreOptions } from '../src/store/offline-store.js'

const dirs: string[] = []
async function open(opts: OfflineStoreOptions = { perReceiver: 200, retentionMs: 7 * 86400_000 }, dir?: string) {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'plaza-store-'))
  if (!dir) dirs.push(d)
  const db = openDatabase(d)
  await db.open()
  const offline = new LevelOfflineStore(db, opts)
  await offline.open()
  const store = Object.assign(offline, {
    close: async () => {
      await LevelOfflineStore.prototype.close.call(offline)
      await db.close()
    },
  })
  return { store, dir: d, db }
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const payload = (n: number) => new TextEncoder().encode(`m${n}`)
const text = (p: Uint8Array) => new TextDecoder().decode(p)
/** Message `n` of `from`'s stream `s.<from>` to `uid`. */
const put = (uid: string, from: string, n: number, serverTs = Date.now()) => ({
  appId: 'app',
  uid,
  from,
  serverTs,
  stream: `s.${from}`,
  seq: n + 1,
  payload: payload(n),
})

describe('LevelOfflineStore', () => {
  it('lists a receiver’s messages oldest first, apart from other receivers and apps', async () => {
    const { store } = await open()
    await Promise.all([0, 1, 2].map((i) => store.put(put('carol', 'alice', i))))
    await store.put(put('dave', 'alice', 9))
    await store.put({ ...put('carol', 'alice', 8), appId: 'app2' })
    const { messages, dropped } = await store.list('app', 'carol', 200)
    expect(messages.map((m) => text(m.payload))).toEqual(['m0', 'm1', 'm2'])
    expect(messages.every((m) => m.from === 'alice')).toBe(true)
    expect(dropped).toEqual([])
    await store.close()
  })

  it('keeps at most perReceiver messages, dropping the oldest first, and records what it dropped per stream', async () => {
    const { store } = await open({ perReceiver: 5, retentionMs: 86400_000 })
    for (let i = 0; i < 8; i++) await store.put(put('carol', 'alice', i))
    // and in one group-committed batch, which drops some of its own
    await Promise.all([8, 9, 10, 11, 12, 13, 14].map((i) => store.put(put('carol', i % 2 ? 'bob' : 'alice', i))))
    const { messages, dropped } = await store.list('app', 'carol', 200)
    expect(messages.map((m) => text(m.payload))).toEqual(['m10', 'm11', 'm12', 'm13', 'm14'])
    expect(dropped).toEqual([
      { from: 'alice', stream: 's.alice', ranges: [[1, 9]], count: 9 },
      { from: 'bob', stream: 's.bob', ranges: [[10, 10]], count: 1 },
    ])
    await store.close()
  })

  it('forgets drop records once the receiver was told, unless more were dropped since', async () => {
    const { store } = await open({ perReceiver: 2, retentionMs: 86400_000 })
    for (let i = 0; i < 4; i++) await store.put(put('carol', 'alice', i))
    const first = await store.list('app', 'carol', 200)
    await store.put(put('carol', 'alice', 4)) // drops one more after the listing
    await store.remove('app', 'carol', [], first.dropped)
    expect((await store.list('app', 'carol', 200)).dropped).toEqual([{ from: 'alice', stream: 's.alice', ranges: [[1, 3]], count: 3 }])
    const second = await store.list('app', 'carol', 200)
    await store.remove('app', 'carol', second.messages.map((m) => m.id), second.dropped)
    expect(await store.list('app', 'carol', 200)).toEqual({ messages: [], dropped: [] })
    await store.close()
  })

  it('leaves out, deletes and records as dropped the messages older than the retention', async () => {
    const { store } = await open({ perReceiver: 200, retentionMs: 60_000 })
    await store.put(put('carol', 'alice', 0, Date.now() - 120_000))
    await store.put(put('carol', 'alice', 1))
    const { messages, dropped } = await store.list('app', 'carol', 200)
    expect(messages.map((m) => text(m.payload))).toEqual(['m1'])
    expect(dropped).toEqual([{ from: 'alice', stream: 's.alice', ranges: [[1, 1]], count: 1 }])
    await store.put(put('erin', 'alice', 2, Date.now() - 120_000))
    expect(await store.sweepExpired()).toBe(1)
    expect((await store.list('app', 'erin', 200)).dropped).toEqual([{ from: 'alice', stream: 's.alice', ranges: [[3, 3]], count: 1 }])
    await store.close()
  })

  it('keeps a (sender stream, seq) once: relayed again, in the same batch or later, it is not stored twice', async () => {
    // A sender reloaded before it saved that its messages were stored relays them all again;
    // stored twice, they would push the receiver's other messages out of the cap.
    const { store, db } = await open({ perReceiver: 5, retentionMs: 86400_000 })
    await Promise.all([0, 1, 2, 2].map((i) => store.put(put('carol', 'alice', i))))
    await Promise.all([0, 1, 2].map((i) => store.put(put('carol', 'alice', i))))
    await store.put(put('carol', 'bob', 0))
    expect((await store.list('app', 'carol', 200)).messages.map((m) => text(m.payload))).toEqual(['m0', 'm1', 'm2', 'm0'])
    // Past the cap: what was dropped is not stored again either (the receiver is told of it).
    for (let i = 3; i < 6; i++) await store.put(put('carol', 'alice', i))
    await store.put(put('carol', 'alice', 0))
    const { messages, dropped } = await store.list('app', 'carol', 200)
    expect(messages.map((m) => `${m.from}:${text(m.payload)}`)).toEqual(['alice:m2', 'bob:m0', 'alice:m3', 'alice:m4', 'alice:m5'])
    expect(dropped).toEqual([{ from: 'alice', stream: 's.alice', ranges: [[1, 2]], count: 2 }])
    // Once delivered and removed, nothing of it is left behind.
    await store.remove('app', 'carol', messages.map((m) => m.id), dropped)
    expect(await store.list('app', 'carol', 200)).toEqual({ messages: [], dropped: [] })
    expect(await db.keys().all()).toEqual([])
    await store.close()
  })

  it('tells when every write for a receiver under way is done', async () => {
    const { store } = await open()
    let written = 0
    const puts = [0, 1, 2].map((i) => store.put(put('carol', 'alice', i)).then(() => written++))
    await store.settled('app', 'carol')
    expect(written).toBe(3)
    await Promise.all(puts)
    await store.settled('app', 'nobody')
    await store.close()
  })

  it('removes acknowledged messages, and keeps ids growing across a reopen', async () => {
    const { store, dir } = await open()
    await store.put(put('carol', 'alice', 0))
    await store.put(put('carol', 'alice', 1))
    const [first, second] = (await store.list('app', 'carol', 200)).messages
    await store.remove('app', 'carol', [first.id], [])
    await store.close()
    const again = await open(undefined, dir)
    await again.store.put(put('carol', 'alice', 2))
    const list = (await again.store.list('app', 'carol', 200)).messages
    expect(list.map((m) => text(m.payload))).toEqual(['m1', 'm2'])
    expect(list[0].id).toBe(second.id)
    expect(list[1].id).toBeGreaterThan(second.id)
    await again.store.close()
  })
})

describe('DocStore', () => {
  it('keeps a channel document with its generation, and sweeps those empty past the retention unless live', async () => {
    const { db, store } = await open()
    const docs = new DocStore(db)
    await docs.save('app', 'old', { state: new Uint8Array([1, 2]), epoch: 7, lastActiveTs: 1000 })
    await docs.save('app', 'old-but-live', { state: new Uint8Array([3]), epoch: 8, lastActiveTs: 1000 })
    await docs.save('app', 'fresh', { state: new Uint8Array([4]), epoch: 9, lastActiveTs: Date.now() })
    expect(await docs.load('app', 'old')).toEqual({ state: new Uint8Array([1, 2]), epoch: 7, lastActiveTs: 1000 })
    expect(await docs.sweep(Date.now() - 60_000, async (_app, channel) => channel === 'old-but-live')).toBe(1)
    expect(await docs.load('app', 'old')).toBeNull()
    expect(await docs.load('app', 'old-but-live')).not.toBeNull()
    expect(await docs.load('app', 'fresh')).not.toBeNull()
    await store.close()
  })

  it('reads documents stored by version 0.1 (no generation) and moves them on the next save', async () => {
    const { db, store } = await open()
    await db.put('d\u0000app\u0000room', Uint8Array.from([0x80, 0x01, 2, 9, 9]))
    const docs = new DocStore(db)
    expect(await docs.load('app', 'room')).toEqual({ state: new Uint8Array([9, 9]), epoch: 0, lastActiveTs: 128 })
    await docs.save('app', 'room', { state: new Uint8Array([9, 9]), epoch: 3, lastActiveTs: 128 })
    expect(await db.get('d\u0000app\u0000room')).toBeUndefined()
    expect((await docs.load('app', 'room'))?.epoch).toBe(3)
    await store.close()
  })
})

describe('offline store quotas', () => {
  const quotas = { perReceiver: 3, retentionMs: 86400_000, perSender: { messages: 4, bytes: 1000 }, perApp: { messages: 6, bytes: 10_000 } }
  const refused = (p: Promise<void>) => p.then(() => 'stored', (e: { code: ErrorCode }) => ErrorCode[e.code])

  it('refuse a sender past its messages, count back what leaves, and are rebuilt from disk', async () => {
    const { store, dir } = await open(quotas)
    // Four to four different receivers (the per-receiver cap never bites), then the fifth is refused.
    const outcomes = await Promise.all(['r1', 'r2', 'r3', 'r4', 'r5'].map((r, i) => refused(store.put(put(r, 'spammer', i)))))
    expect(outcomes).toEqual(['stored', 'stored', 'stored', 'stored', 'QUOTA_EXCEEDED'])
    expect((await store.list('app', 'r5', 10)).messages).toEqual([])
    // Another sender is not held to the spammer's quota; the app's (6) is shared.
    expect(await refused(store.put(put('r1', 'alice', 0)))).toBe('stored')
    expect(await refused(store.put(put('r2', 'alice', 1)))).toBe('stored')
    expect(await refused(store.put(put('r3', 'alice', 2)))).toBe('QUOTA_EXCEEDED')
    expect(store.usage.of('app')).toMatchObject({ messages: 6 })
    // r1 logs in and acknowledges: its messages leave, and count no more.
    const { messages } = await store.list('app', 'r1', 10)
    await store.remove('app', 'r1', messages.map((m) => m.id), [])
    expect(store.usage.of('app', 'spammer').messages).toBe(3)
    expect(await refused(store.put(put('r6', 'spammer', 6)))).toBe('stored')
    await store.close()
    const again = await open(quotas, dir)
    expect(again.store.usage.of('app', 'spammer').messages).toBe(4)
    expect(again.store.usage.of('app')).toMatchObject({ messages: 5 })
    expect(await refused(again.store.put(put('r7', 'spammer', 7)))).toBe('QUOTA_EXCEEDED')
    await again.store.close()
  })

  it('count bytes; a copy kept once and a message the cap drops count no more; REST is held only to the app quota', async () => {
    const { store } = await open(quotas)
    const big = { ...put('r1', 'bob', 0), payload: new Uint8Array(600) }
    expect(await refused(store.put(big))).toBe('stored')
    expect(await refused(store.put({ ...put('r2', 'bob', 1), payload: new Uint8Array(600) }))).toBe('QUOTA_EXCEEDED')
    // The same (stream, seq) again is stored already: not refused, not written a second time, nor counted.
    expect(await refused(store.put(big))).toBe('stored')
    expect(store.usage.of('app', 'bob')).toEqual({ messages: 1, bytes: 600 })
    // Three more to r1 push bob's big one out of r1's cap (3): dropped, so no longer counted.
    for (let i = 1; i <= 3; i++) await store.put(put('r1', 'carol', i))
    expect(store.usage.of('app', 'bob')).toEqual({ messages: 0, bytes: 0 })
    expect(await refused(store.put({ ...put('r3', 'server', 9), payload: new Uint8Array(900), senderExempt: true }))).toBe('stored')
    expect(await refused(store.put({ ...put('r3', 'server', 10), payload: new Uint8Array(900), senderExempt: true }))).toBe('stored')
    expect(store.usage.of('app').messages).toBe(5)
    await store.close()
  })
})
