import { Decoder, Encoder } from '@plaza/protocol'
import { DURABLE, type Database } from './database.js'

/** What a moderator decided: a ban (user or address), a removal from a channel, a mute. */
export type Sanction = 'ban' | 'ban-address' | 'removed' | 'muted'

const SEP = '\u0000'
const PREFIX = `m${SEP}`
const keyOf = (kind: Sanction, appId: string, target: string, channel = '') => `${PREFIX}${kind}${SEP}${appId}${SEP}${channel}${SEP}${target}`

/**
 * Bans, removals and mutes, durable in the shared database under "m\0" (a restart does not lift
 * them), all held in memory as well (there are few). `until` is ms since epoch, 0 for no end.
 */
export class ModerationStore {
  private readonly active = new Map<string, number>()

  constructor(private readonly db: Database) {}

  async open(): Promise<void> {
    this.active.clear()
    for await (const [key, value] of this.db.iterator({ gte: PREFIX, lt: PREFIX + '\uffff' })) this.active.set(key, new Decoder(value).varuint())
  }

  /** When the sanction ends (0: never), or null if there is none in force. */
  until(kind: Sanction, appId: string, target: string, now: number, channel = ''): number | null {
    const key = keyOf(kind, appId, target, channel)
    const until = this.active.get(key)
    if (until === undefined) return null
    if (until !== 0 && until <= now) {
      this.active.delete(key)
      void this.db.del(key).catch(() => undefined)
      return null
    }
    return until
  }

  async set(kind: Sanction, appId: string, target: string, until: number, channel = ''): Promise<void> {
    const key = keyOf(kind, appId, target, channel)
    const e = new Encoder(8)
    e.varuint(until)
    await this.db.batch([{ type: 'put', key, value: e.finish() }], DURABLE)
    this.active.set(key, until)
  }

  /** Lifts a sanction; false if there was none. */
  async lift(kind: Sanction, appId: string, target: string, channel = ''): Promise<boolean> {
    const key = keyOf(kind, appId, target, channel)
    if (!this.active.has(key)) return false
    await this.db.batch([{ type: 'del', key }], DURABLE)
    this.active.delete(key)
    return true
  }

  get size(): number {
    return this.active.size
  }
}
