import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { RedisEngine } from '../src/engine/redis-engine.js'
import { openDatabase } from '../src/store/database.js'
import { DocStore } from '../src/store/doc-store.js'
import { ModerationStore } from '../src/store/moderation-store.js'
import { LevelOfflineStore } from '../src/store/offline-store.js'
import { startRedis, type RedisProcess } from '../../test/helpers/redis.js'
import { RecordingSink, engineContract } from './engine-contract.js'

let redis: RedisProcess
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

let deployments = 0
engineContract(
  'Redis (RedisEngine), two nodes',
  async (nodes) => {
    const prefix = `t${++deployments}:`
    const dirs: string[] = []
    const engines = Array.from({ length: nodes }, (_, i) => {
      const dir = mkdtempSync(join(tmpdir(), 'plaza-engine-'))
      dirs.push(dir)
      // The routing contract only: these stores are not shared (the shared ones have their own tests).
      const db = openDatabase(dir)
      const stores = {
        offline: new LevelOfflineStore(db, { perReceiver: 200, retentionMs: 86400_000 }),
        docs: new DocStore(db),
        moderation: new ModerationStore(db),
        open: () => db.open(),
        close: () => db.close(),
      }
      return new RedisEngine({ url: redis.url, prefix, nodeId: `n${i}`, stores: () => stores })
    })
    const sinks = engines.map(() => new RecordingSink())
    await Promise.all(engines.map((e, i) => e.open(sinks[i])))
    return {
      engines,
      sinks,
      close: async () => {
        await Promise.all(engines.map((e) => e.close()))
        for (const d of dirs) rmSync(d, { recursive: true, force: true })
      },
    }
  },
  2,
)
