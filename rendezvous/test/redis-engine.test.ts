import { afterAll, beforeAll } from 'vitest'
import { RedisEngine } from '../src/engine/redis-engine.js'
import { redisStores } from '../src/engine/redis-stores.js'
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
    const engines = Array.from({ length: nodes }, (_, i) => new RedisEngine({ url: redis.url, prefix, nodeId: `n${i}`, stores: redisStores({ perReceiver: 200, retentionMs: 86400_000 }) }))
    const sinks = engines.map(() => new RecordingSink())
    await Promise.all(engines.map((e, i) => e.open(sinks[i])))
    return {
      engines,
      sinks,
      close: async () => {
        await Promise.all(engines.map((e) => e.close()))
      },
    }
  },
  2,
)
