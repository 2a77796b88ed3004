import type { Redis } from 'ioredis'
import { unavailable } from './redis-keys.js'
import { parseSanctionKey, sanctionKey, type EndedSanction, type ModerationStore, type Sanction } from './moderation-store.js'

/** KEYS: the hash. ARGV: channel, field, until. Deletes the field if it still ends then; 1 if it did. */
const EXPIRE_ONE = `
if redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[2])
  redis.call('PUBLISH', ARGV[1], '- ' .. ARGV[2])
  return 1
end
return 0
`

type Scripted = Redis & { plazaModExpire(key: string, channel: string, field: string, until: string): Promise<number> }


/**
 * Sanctions in one Redis hash (<prefix>mod), with every node's copy in memory kept current by
 * the changes published on the channel of the same name (`onMessage`), and read again whole
 * after the connection to Redis comes back (`reload`). A sanction whose time is up is deleted by
 * the one node whose script gets there first: only that node tells the members.
 */
export class RedisModerationStore implements ModerationStore {
  private readonly active = new Map<string, number>()
  private readonly redis: Scripted
  readonly channel: string
  private readonly hash: string

  constructor(redis: Redis, prefix: string) {
    this.redis = redis as Scripted
    this.redis.defineCommand('plazaModExpire', { lua: EXPIRE_ONE, numberOfKeys: 1 })
    this.hash = `${prefix}mod`
    this.channel = `${prefix}mod`
  }

  async open(): Promise<void> {
    await this.reload()
  }

  /** Reads every sanction again (at start, and when Redis is back after changes may have been missed). */
  async reload(): Promise<void> {
    const all = await this.redis.hgetall(this.hash).catch(unavailable)
    this.active.clear()
    for (const [key, until] of Object.entries(all)) this.active.set(key, Number(until))
  }

  /** A change published by a node (this one included): "<until> <key>" or "- <key>". */
  onMessage(message: string): void {
    const space = message.indexOf(' ')
    if (space < 0) return
    const head = message.slice(0, space)
    const key = message.slice(space + 1)
    if (head === '-') this.active.delete(key)
    else this.active.set(key, Number(head))
  }

  until(kind: Sanction, appId: string, target: string, now: number, channel = ''): number | null {
    const until = this.active.get(sanctionKey(kind, appId, target, channel))
    if (until === undefined || (until !== 0 && until <= now)) return null
    return until
  }

  async set(kind: Sanction, appId: string, target: string, until: number, channel = ''): Promise<void> {
    const key = sanctionKey(kind, appId, target, channel)
    await this.redis.multi().hset(this.hash, key, String(until)).publish(this.channel, `${until} ${key}`).exec().catch(unavailable)
    this.active.set(key, until)
  }

  async lift(kind: Sanction, appId: string, target: string, channel = ''): Promise<boolean> {
    const key = sanctionKey(kind, appId, target, channel)
    const [[err, n]] = ((await this.redis.multi().hdel(this.hash, key).publish(this.channel, `- ${key}`).exec().catch(unavailable)) ?? [[null, 0]]) as [Error | null, number][]
    if (err) unavailable(err)
    this.active.delete(key)
    return n === 1
  }

  async expire(now: number): Promise<EndedSanction[]> {
    const ended: EndedSanction[] = []
    for (const [key, until] of [...this.active]) {
      if (until === 0 || until > now) continue
      this.active.delete(key)
      if ((await this.redis.plazaModExpire(this.hash, this.channel, key, String(until)).catch(unavailable)) === 1) ended.push(parseSanctionKey(key))
    }
    return ended
  }

  get size(): number {
    return this.active.size
  }
}
