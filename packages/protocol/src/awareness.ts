/**
 * Who may say what in a channel's awareness (y-protocols awareness updates: entries of client
 * id, clock and JSON state). A member speaks only for itself: an entry for a client id another
 * member owns, or whose state names another user, is dropped. Shared by the node (what it keeps
 * and forwards) and the client (what it takes over direct links). Pure.
 */
import { Decoder, Encoder } from './binary.js'
import { MAX_DOC_PAYLOAD_BYTES } from './limits.js'

/** The awareness state field naming the user behind a client id. */
export const AWARENESS_UID_FIELD = 'uid'

export interface AwarenessEntry {
  clientId: number
  clock: number
  /** JSON text; 'null' removes the state. */
  state: string
}

export function decodeAwarenessUpdate(payload: Uint8Array): AwarenessEntry[] {
  const d = new Decoder(payload)
  const out: AwarenessEntry[] = []
  for (let n = d.count(4096); n > 0; n--) out.push({ clientId: d.varuint(), clock: d.varuint(), state: d.string(MAX_DOC_PAYLOAD_BYTES) })
  return out
}

export function encodeAwarenessUpdate(entries: AwarenessEntry[]): Uint8Array {
  const e = new Encoder(64)
  e.varuint(entries.length)
  for (const x of entries) {
    e.varuint(x.clientId)
    e.varuint(x.clock)
    e.string(x.state)
  }
  return e.finish()
}

/** The user a state names (its `uid` field), '' if none or not JSON. */
export function awarenessUidOf(state: string): string {
  try {
    const v = JSON.parse(state) as unknown
    const uid = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[AWARENESS_UID_FIELD] : undefined
    return typeof uid === 'string' ? uid : ''
  } catch {
    return ''
  }
}

/**
 * Whether `sender` may publish this state: JSON ('null' removes one), and if it has a `uid`
 * field at all, that field is exactly the sender's uid (not another's, nor an array or object
 * an app might print as one).
 */
export function awarenessStateAllowed(state: string, sender: string): boolean {
  let v: unknown
  try {
    v = JSON.parse(state)
  } catch {
    return false
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return true
  return !Object.prototype.hasOwnProperty.call(v, AWARENESS_UID_FIELD) || (v as Record<string, unknown>)[AWARENESS_UID_FIELD] === sender
}

/**
 * The entries of `sender`'s update it may make: not for a client id `ownerOf` says is another
 * user's, and not naming anyone but the sender (see awarenessStateAllowed). Throws on a malformed update.
 */
export function ownAwarenessEntries(payload: Uint8Array, sender: string, ownerOf: (clientId: number) => string | undefined): { kept: AwarenessEntry[]; dropped: number } {
  const all = decodeAwarenessUpdate(payload)
  const kept = all.filter((x) => {
    const owner = ownerOf(x.clientId)
    if (owner !== undefined && owner !== '' && owner !== sender) return false
    return awarenessStateAllowed(x.state, sender)
  })
  return { kept, dropped: all.length - kept.length }
}
