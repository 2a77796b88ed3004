import type { Redis } from 'ioredis'
import { RedisDocStore } from '../store/redis-doc-store.js'
import { RedisModerationStore } from '../store/redis-moderation-store.js'
import { RedisOfflineStore } from '../store/redis-offline-store.js'
import type { OfflineStoreOptions } from '../store/offline-store.js'
import type { SharedStores } from './redis-engine.js'

/** The stores of a Redis deployment: offline messages, channel documents, sanctions. */
export function redisStores(offline: OfflineStoreOptions, now: () => number = Date.now): (redis: Redis, prefix: string) => SharedStores {
  return (redis, prefix) => {
    const docs = new RedisDocStore(redis, prefix)
    const moderation = new RedisModerationStore(redis, prefix)
    const messages = new RedisOfflineStore(redis, prefix, offline, now)
    return {
      offline: messages,
      docs,
      moderation,
      open: async () => {
        await docs.open()
        await moderation.open()
      },
      close: () => messages.close(),
      listen: { [docs.channel]: (m) => docs.onMessage(m), [moderation.channel]: (m) => moderation.onMessage(m) },
      reconnected: () => moderation.reload(),
    }
  }
}
