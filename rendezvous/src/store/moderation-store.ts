import { Decoder, Encoder } from '@plaza/protocol'
import { DURABLE, type Database } from './database.js'

/** What a moderator decided: a ban (user or address), a removal from a channel, a mute. */
export type Sanction = 'ban' | 'ban-address' | 'removed' | 'muted'

const SEP = '\u0000'
const PREFIX = `m${SEP}`
const keyOf = (kind: Sanction, appId: string, target: string, channel = '') => `${PREFIX}${kind}${SEP}${appId}${SEP}${channel}${SEP}${target}`

/** A sanction that ended. */
export interface EndedSanction {
  kind: Sanction
  appId: string
  target: string
  channel: string
}

/**
 * Bans, removals and mutes. Every node holds all of them in memory (there are few), so checks
 * on the hot path (is this member muted?) are synchronous; changes are durable before they
 * resolve. `until` is ms since epoch, 0 for no end.
 */
export interface ModerationStore {
  open(): Promise<void>
  /** When the sanction ends (0: never), or null if there is none in force. */
  until(kind: Sanction, appId: string, target: string, now: number, channel?: string): number | null
  set(kind: Sanction, appId: string, target: string, until: number, channel?: string): Promise<void>
  /** Lifts a sanction; false if there was none. */
  lift(kind: Sanction, appId: string, target: string, channel?: string): Promise<boolean>
  /** Forgets the sanctions whose time is up and says which they were (each told once in a deployment). */
  expire(now: number): Promise<EndedSanction[]>
  readonly size: number
}

export const sanctionKey = keyOf

export function parseSanctionKey(key: string): EndedSanction {
  const [, kind, appId, channel, target] = key.split(SEP)
  return { kind: kind as Sanction, appId, target, channel }
}

/** The embedded default: durable in the shared database under "m\0" (a restart does not lift them). */
export class LevelModerationStore implements ModerationStore {
  private readonly active = new Map<string, number>()

  constructor(private readonly db: Database) {}

  async open(): Promise<void> {
    this.active.clear()
    for await (const [key, value] of this.db.iterator({ gte: PREFIX, lt: PREFIX + '\uffff' })) this.active.set(key, new Decoder(value).varuint())
  }

  /** When the sanction ends (0: never), or null if there is none in force. */
  until(kind: Sanction, appId: string, target: string, now: number, channel = ''): number | null {
    const until = this.active.get(keyOf(kind, appId, target, channel))
    if (until === undefined || (until !== 0 && until <= now)) return null
    return until
  }

  /** Forgets the sanctions whose time is up and says which they were (members are told a mute ended). */
  async expire(now: number): Promise<EndedSanction[]> {
    const ended: string[] = []
    for (const [key, until] of this.active) if (until !== 0 && until <= now) ended.push(key)
    if (ended.length === 0) return []
    await this.db.batch(
      ended.map((key) => ({ type: 'del' as const, key })),
      DURABLE,
    )
    for (const key of ended) this.active.delete(key)
    return ended.map(parseSanctionKey)
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
