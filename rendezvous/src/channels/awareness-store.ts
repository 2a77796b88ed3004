import * as encoding from 'lib0/encoding'
import { encodeAwarenessUpdate, ownAwarenessEntries, type AwarenessEntry } from '@plaza/protocol'

interface Entry {
  clock: number
  /** The state as JSON text ('null': removed). */
  state: string
  owner: string
}

/** Awareness clients kept per channel; past it updates are still forwarded, not kept. */
const MAX_CLIENTS_PER_CHANNEL = 1024

/**
 * The latest awareness state of every member of every live channel (y-protocols awareness
 * update format), so that a member who joins or resyncs gets everyone's state at once, not
 * only from the members that happen to renew theirs. States are forgotten with their owner.
 */
export class AwarenessStore {
  private readonly channels = new Map<string, Map<number, Entry>>()

  /**
   * Takes a member's awareness update: only the entries it may make (its own client ids, states
   * naming no one else). Returns those entries as an update to forward, or null (malformed, or
   * nothing of its own).
   */
  apply(appId: string, channel: string, owner: string, payload: Uint8Array): Uint8Array | null {
    const k = `${appId}\u0000${channel}`
    const states = this.channels.get(k) ?? new Map<number, Entry>()
    let kept: AwarenessEntry[]
    try {
      ;({ kept } = ownAwarenessEntries(payload, owner, (id) => states.get(id)?.owner))
    } catch {
      return null
    }
    for (const { clientId, clock, state } of kept) {
      const prev = states.get(clientId)
      if (prev && (prev.clock > clock || (prev.clock === clock && state !== 'null'))) continue
      if (!prev && states.size >= MAX_CLIENTS_PER_CHANNEL) continue
      states.set(clientId, { clock, state, owner })
    }
    if (states.size) this.channels.set(k, states)
    return kept.length ? encodeAwarenessUpdate(kept) : null
  }

  /** Every known state of the channel as one awareness update, or null if there is none. */
  snapshot(appId: string, channel: string): Uint8Array | null {
    const states = [...(this.channels.get(`${appId}\u0000${channel}`) ?? [])].filter(([, e]) => e.state !== 'null')
    if (states.length === 0) return null
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, states.length)
    for (const [clientId, s] of states) {
      encoding.writeVarUint(e, clientId)
      encoding.writeVarUint(e, s.clock)
      encoding.writeVarString(e, s.state)
    }
    return encoding.toUint8Array(e)
  }

  /** A member left: its states go. */
  removeOwner(appId: string, channel: string, owner: string): void {
    const k = `${appId}\u0000${channel}`
    const states = this.channels.get(k)
    if (!states) return
    for (const [id, e] of states) if (e.owner === owner) states.delete(id)
    if (states.size === 0) this.channels.delete(k)
  }

  dropChannel(appId: string, channel: string): void {
    this.channels.delete(`${appId}\u0000${channel}`)
  }
}
