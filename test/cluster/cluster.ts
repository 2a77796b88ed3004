import { startRedis, type RedisProcess } from '../helpers/redis.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

/** A deployment of a test suite's own: a redis-server (AOF) and `n` node processes on it. */
export interface Cluster {
  redis: RedisProcess
  nodes: RendezvousProcess[]
  stop(): Promise<void>
}

export async function startCluster(n = 3, args: string[] = []): Promise<Cluster> {
  const redis = await startRedis()
  const nodes = await Promise.all(
    Array.from({ length: n }, (_, i) => startRendezvous({ args: ['--engine', 'redis', '--redis-url', redis.url, '--redis-require-aof', '--node-id', `node-${i}`, ...args] })),
  )
  return {
    redis,
    nodes,
    async stop() {
      await Promise.all(nodes.map((node) => stopRendezvous(node)))
      await redis.stop()
    },
  }
}
