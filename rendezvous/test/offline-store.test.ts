import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../src/store/database.js'
import { DocStore } from '../src/store/doc-store.js'
import { LevelOfflineStore } from '../src/store/offline-store.js'

const dirs: string[] = []
async function open(opts = { perReceiver: 200, retentionMs: 7 * 86400_000 }, dir?: string) {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'plaza-store-'))
  if (!dir) dirs.push(d)
  const db = openDatabase(d)
  await db.open()
  const offline = new LevelOfflineStore(db, opts)
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

describe('LevelOfflineStore', () => {
  it('lists a receiver’s messages oldest first, apart from other receivers and apps', async () => {
    const { store } = await open()
    await Promise.all([0, 1, 2].map((i) => store.put('app', 'carol', 'alice', Date.now(), payload(i))))
    await store.put('app', 'dave', 'alice', Date.now(), payload(9))
    await store.put('app2', 'carol', 'alice', Date.now(), payload(8))
    const list = await store.list('app', 'carol', 200)
    expect(list.map((m) => text(m.payload))).toEqual(['m0', 'm1', 'm2'])
    expect(list.every((m) => m.from === 'alice')).toBe(true)
    await store.close()
  })

  it('keeps at most perReceiver messages, dropping the oldest first', async () => {
    const { store } = await open({ perReceiver: 5, retentionMs: 86400_000 })
    for (let i = 0; i < 8; i++) await store.put('app', 'carol', 'alice', Date.now(), payload(i))
    // and in one group-committed batch
    await Promise.all([8, 9, 10].map((i) => store.put('app', 'carol', 'alice', Date.now(), payload(i))))
    expect((await store.list('app', 'carol', 200)).map((m) => text(m.payload))).toEqual(['m6', 'm7', 'm8', 'm9', 'm10'])
    await store.close()
  })

  it('leaves out and deletes messages older than the retention', async () => {
    const { store } = await open({ perReceiver: 200, retentionMs: 60_000 })
    await store.put('app', 'carol', 'alice', Date.now() - 120_000, payload(0))
    await store.put('app', 'carol', 'alice', Date.now(), payload(1))
    expect((await store.list('app', 'carol', 200)).map((m) => text(m.payload))).toEqual(['m1'])
    await store.put('app', 'erin', 'alice', Date.now() - 120_000, payload(2))
    expect(await store.sweepExpired()).toBe(1)
    await store.close()
  })

  it('removes acknowledged messages, and keeps ids growing across a reopen', async () => {
    const { store, dir } = await open()
    await store.put('app', 'carol', 'alice', Date.now(), payload(0))
    await store.put('app', 'carol', 'alice', Date.now(), payload(1))
    const [first, second] = await store.list('app', 'carol', 200)
    await store.remove('app', 'carol', [first.id])
    await store.close()
    const again = await open(undefined, dir)
    await again.store.put('app', 'carol', 'alice', Date.now(), payload(2))
    const list = await again.store.list('app', 'carol', 200)
    expect(list.map((m) => text(m.payload))).toEqual(['m1', 'm2'])
    expect(list[0].id).toBe(second.id)
    expect(list[1].id).toBeGreaterThan(second.id)
    await again.store.close()
  })
})

describe('DocStore', () => {
  it('keeps a channel document, and sweeps those empty past the retention unless live', async () => {
    const { db, store } = await open()
    const docs = new DocStore(db)
    await docs.save('app', 'old', { state: new Uint8Array([1, 2]), lastActiveTs: 1000 })
    await docs.save('app', 'old-but-live', { state: new Uint8Array([3]), lastActiveTs: 1000 })
    await docs.save('app', 'fresh', { state: new Uint8Array([4]), lastActiveTs: Date.now() })
    expect(await docs.load('app', 'old')).toEqual({ state: new Uint8Array([1, 2]), lastActiveTs: 1000 })
    expect(await docs.sweep(Date.now() - 60_000, (_app, channel) => channel === 'old-but-live')).toBe(1)
    expect(await docs.load('app', 'old')).toBeNull()
    expect(await docs.load('app', 'old-but-live')).not.toBeNull()
    expect(await docs.load('app', 'fresh')).not.toBeNull()
    await store.close()
  })
})
