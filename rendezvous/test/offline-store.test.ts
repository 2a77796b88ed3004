import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../src/store/database.js'
import { LevelDocStore } from '../src/store/doc-store.js'
import { LevelOfflineStore, type OfflineStoreOptions } from '../src/store/offline-store.js'
import { offlineStoreContract, type OfflineFixture } from './offline-store-contract.js'

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

async function fixture(opts: OfflineStoreOptions | undefined, dir?: string): Promise<OfflineFixture> {
  const { store, dir: d, db } = await open(opts, dir)
  return {
    store,
    usage: async (appId, from) => store.usage.of(appId, from),
    leftovers: () => db.keys().all(),
    reopen: async () => {
      await store.close()
      return fixture(opts, d)
    },
    close: () => store.close(),
  }
}

offlineStoreContract('embedded (LevelDB)', (opts) => fixture(opts))

describe('DocStore', () => {
  it('keeps a channel document with its generation, and sweeps those empty past the retention unless live', async () => {
    const { db, store } = await open()
    const docs = new LevelDocStore(db)
    await docs.save('app', 'old', { state: new Uint8Array([1, 2]), epoch: 7, lastActiveTs: 1000 }, 0)
    await docs.save('app', 'old-but-live', { state: new Uint8Array([3]), epoch: 8, lastActiveTs: 1000 }, 0)
    await docs.save('app', 'fresh', { state: new Uint8Array([4]), epoch: 9, lastActiveTs: Date.now() }, 0)
    expect(await docs.load('app', 'old')).toEqual({ doc: { state: new Uint8Array([1, 2]), epoch: 7, lastActiveTs: 1000 }, version: 1 })
    expect(await docs.sweep(Date.now() - 60_000, async (_app, channel) => channel === 'old-but-live')).toBe(1)
    expect((await docs.load('app', 'old')).doc).toBeNull()
    expect((await docs.load('app', 'old-but-live')).doc).not.toBeNull()
    expect((await docs.load('app', 'fresh')).doc).not.toBeNull()
    await store.close()
  })

  it('reads documents stored by version 0.1 (no generation) and moves them on the next save', async () => {
    const { db, store } = await open()
    await db.put('d\u0000app\u0000room', Uint8Array.from([0x80, 0x01, 2, 9, 9]))
    const docs = new LevelDocStore(db)
    expect(await docs.load('app', 'room')).toEqual({ doc: { state: new Uint8Array([9, 9]), epoch: 0, lastActiveTs: 128 }, version: 1 })
    await docs.save('app', 'room', { state: new Uint8Array([9, 9]), epoch: 3, lastActiveTs: 128 }, 1)
    expect(await db.get('d\u0000app\u0000room')).toBeUndefined()
    expect((await docs.load('app', 'room')).doc?.epoch).toBe(3)
    await store.close()
  })
})

