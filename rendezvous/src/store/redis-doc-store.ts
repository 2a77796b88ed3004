import type { Redis } from 'ioredis'
import { joinId, splitId, unavailable } from './redis-keys.js'
import type { DocStore, DocWrite, LoadedDoc, StoredDoc } from './doc-store.js'

/**
 * KEYS: the document's hash, its app's set of channels. ARGV: base version, state, epoch,
 * lastActiveTs, channel, notify channel, notify message ('' to remove instead). Writes (or
 * removes) only if the stored version is still `base`; the version survives a removal, so a
 * replica that read an older incarnation never writes over a newer one.
 */
const WRITE = `
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return {0, v} end
v = v + 1
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], 'state', 'epoch', 'ts')
  redis.call('HSET', KEYS[1], 'v', v)
  redis.call('SREM', KEYS[2], ARGV[5])
else
  redis.call('HSET', KEYS[1], 'state', ARGV[2], 'epoch', ARGV[3], 'ts', ARGV[4], 'v', v)
  redis.call('SADD', KEYS[2], ARGV[5])
end
redis.call('PUBLISH', ARGV[6], ARGV[7] .. v)
return {1, v, redis.call('SCARD', KEYS[2])}
`

type Scripted = Redis & { plazaDocWrite(...args: (string | number | Buffer)[]): Promise<[number, number, number?]> }


/**
 * Channel documents on Redis, shared by the nodes: one hash per channel (state, generation,
 * last activity, version) written only by a script that checks the version the writer built
 * on, and a set of each app's channels (for the quota and the retention sweep). Every write is
 * announced on <prefix>doc ("<app length>:<app>:<channel> <version>") so that other nodes
 * read their replica again.
 */
export class RedisDocStore implements DocStore {
  readonly shared = true
  onChanged: DocStore['onChanged'] = null
  readonly channel: string
  private readonly redis: Scripted
  private readonly counts = new Map<string, number>()

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.redis = redis as Scripted
    this.redis.defineCommand('plazaDocWrite', { lua: WRITE, numberOfKeys: 2 })
    this.channel = `${prefix}doc`
  }

  private docKey(appId: string, channel: string): string {
    return `${this.prefix}d:${joinId(appId, channel)}`
  }
  private appKey(appId: string): string {
    return `${this.prefix}dc:${appId.length}:${appId}`
  }

  async open(): Promise<void> {
    this.counts.clear()
  }

  /** A write announced by a node (this one included). */
  onMessage(message: string): void {
    const space = message.lastIndexOf(' ')
    const { appId, rest: channel } = splitId(message.slice(0, space))
    this.onChanged?.(appId, channel, Number(message.slice(space + 1)))
  }

  count(appId: string): number {
    return this.counts.get(appId) ?? 0
  }

  async load(appId: string, channel: string): Promise<LoadedDoc> {
    const [state, epoch, ts, v] = await this.redis.hmgetBuffer(this.docKey(appId, channel), 'state', 'epoch', 'ts', 'v').catch(unavailable)
    if (this.counts.get(appId) === undefined) this.counts.set(appId, await this.redis.scard(this.appKey(appId)).catch(unavailable))
    const version = Number(v?.toString() ?? 0)
    if (!state) return { doc: null, version }
    return { doc: { state: new Uint8Array(state), epoch: Number(epoch?.toString() ?? 0), lastActiveTs: Number(ts?.toString() ?? 0) }, version }
  }

  async version(appId: string, channel: string): Promise<number> {
    return Number((await this.redis.hget(this.docKey(appId, channel), 'v').catch(unavailable)) ?? 0)
  }

  save(appId: string, channel: string, doc: StoredDoc, base: number): Promise<DocWrite> {
    return this.write(appId, channel, doc, base)
  }

  remove(appId: string, channel: string, base: number): Promise<DocWrite> {
    return this.write(appId, channel, null, base)
  }

  private async write(appId: string, channel: string, doc: StoredDoc | null, base: number): Promise<DocWrite> {
    const state = doc ? Buffer.from(doc.state.buffer, doc.state.byteOffset, doc.state.length) : ''
    const [written, version, count] = await this.redis
      .plazaDocWrite(this.docKey(appId, channel), this.appKey(appId), base, state, doc?.epoch ?? 0, doc?.lastActiveTs ?? 0, channel, this.channel, `${joinId(appId, channel)} `)
      .catch(unavailable)
    if (written === 1) {
      this.counts.set(appId, count ?? 0)
      return { written: true, version }
    }
    return { written: false, current: await this.load(appId, channel) }
  }

  async sweep(cutoff: number, isActive: (appId: string, channel: string) => Promise<boolean>): Promise<number> {
    let removed = 0
    const stream = this.redis.scanStream({ match: `${this.prefix}dc:*`, count: 100 })
    for await (const keys of stream as AsyncIterable<string[]>) {
      for (const key of keys) {
        const id = key.slice(`${this.prefix}dc:`.length)
        const appId = splitId(`${id}:`).appId
        for (const channel of await this.redis.smembers(key).catch(unavailable)) {
          const { doc, version } = await this.load(appId, channel)
          if (!doc || doc.lastActiveTs >= cutoff || (await isActive(appId, channel))) continue
          if ((await this.remove(appId, channel, version)).written) removed++
        }
      }
    }
    return removed
  }
}
