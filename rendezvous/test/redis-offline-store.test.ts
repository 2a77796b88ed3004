import { Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { RedisOfflineStore } from '../src/store/redis-offline-store.js'
import type { OfflineStoreOptions } from '../src/store/offline-store.js'
import { startRedis, type RedisProcess } from '../../test/helpers/redis.js'
import { offlineStoreContract, type OfflineFixture } from './offline-store-contract.js'

let server: RedisProcess
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

let stores = 0
async function fixture(opts: OfflineStoreOptions = { perReceiver: 200, retentionMs: 7 * 86400_000 }, prefix = `o${++stores}:`): Promise<OfflineFixture> {
  const redis = new Redis(server.url)
  const store = new RedisOfflineStore(redis, prefix, opts)
  const close = async () => {
    await store.close()
    await redis.quit()
  }
  return {
    store,
    usage: (appId, from) => store.usageOf(appId, from),
    // The usage counters stay (at zero); everything about messages must be gone.
    leftovers: async () => (await redis.keys(`${prefix}*`)).filter((k) => !k.startsWith(`${prefix}ou`)).sort(),
    reopen: async () => {
      await close()
      return fixture(opts, prefix)
    },
    close,
  }
}

offlineStoreContract('Redis', (opts) => fixture(opts))
