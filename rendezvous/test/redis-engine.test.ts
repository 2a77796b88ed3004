import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

describe('the Redis engine’s keys', () => {
  it('expire by themselves when they live only with a session (renewed while it lives)', async () => {
    const prefix = 'ttl:'
    const engine = new RedisEngine({ url: redis.url, prefix, nodeId: 'n-ttl', stores: redisStores({ perReceiver: 200, retentionMs: 86400_000 }) })
    await engine.open(new RecordingSink())
    const probe = new Redis(redis.url)
    try {
      await engine.register('app', 'u', 'sid-1', '')
      await engine.joinChannel('app', 'room', { uid: 'u', sessionId: 'sid-1', role: '', publishGrant: true })
      await engine.noteSent('app', 'u', 'v')
      for (const key of [`${prefix}s:3:app:u`, `${prefix}ns:n-ttl`, `${prefix}sc:sid-1`, `${prefix}sent:sid-1`]) {
        const ttl = await probe.pttl(key)
        expect(ttl, key).toBeGreaterThan(0)
        expect(ttl, key).toBeLessThanOrEqual(10 * 60_000)
      }
      // What is durable does not expire.
      await engine.offline.put({ appId: 'app', uid: 'w', from: 'u', serverTs: Date.now(), stream: 's', seq: 1, payload: new Uint8Array([1]) })
      expect(await probe.pttl(`${prefix}om:3:app:w`)).toBe(-1)
    } finally {
      probe.disconnect()
      await engine.close()
    }
  })
})

describe('delivery to a session whose node died', () => {
  it('is "away" once the node’s heartbeat has lapsed (a message with offline messaging is then stored)', async () => {
    const prefix = 'nodedeath:'
    const make = (nodeId: string) => new RedisEngine({ url: redis.url, prefix, nodeId, stores: redisStores({ perReceiver: 200, retentionMs: 86400_000 }) })
    const [a, b] = [make('n-a'), make('n-b')]
    await a.open(new RecordingSink())
    await b.open(new RecordingSink())
    const probe = new Redis(redis.url)
    try {
      await b.register('app', 'v', 'sv', '')
      expect(await a.deliverIfConnected('app', 'v', new Uint8Array([1]))).toBe('delivered')
      // What a killed node leaves: its session record, and its heartbeat key running out.
      await b.close()
      await probe.del(`${prefix}live:n-b`)
      expect(await a.deliverIfConnected('app', 'v', new Uint8Array([2]))).toBe('away')
      expect(await a.deliver('app', 'v', new Uint8Array([3]))).toBe(true)
    } finally {
      probe.disconnect()
      await a.close()
      await b.close()
    }
  })
})
