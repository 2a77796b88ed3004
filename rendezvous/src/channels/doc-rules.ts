import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as sync from 'y-protocols/sync'
import {
  CHANNEL_ATTRIBUTES_MAP,
  ErrorCode,
  MAX_ATTRIBUTE_VALUE_BYTES,
  PlazaError,
  checkAttributeKey,
  checkAttributeTotals,
  isValidId,
  readChannelAttributes,
  utf8Length,
  type ChannelAttribute,
} from '@plaza/protocol'

/** The pure parts of channel documents: checks, messages, comparisons (see ChannelDocs). */

/** Roughly what a fresh document holding these attributes takes. */
export function liveBytes(attrs: Map<string, ChannelAttribute>): number {
  let n = 0
  for (const [k, a] of attrs) n += utf8Length(k) + utf8Length(a.value) + a.lastUpdateUserId.length + 48
  return n
}

/** Applies `update` to `scratch` and checks the attributes it would hold; throws on a limit or a stale update. */
export function checkScratch(scratch: Y.Doc, update: Uint8Array): Map<string, ChannelAttribute> {
  try {
    Y.applyUpdate(scratch, update)
  } catch {
    throw new PlazaError(ErrorCode.MALFORMED_FRAME, 'not a Yjs update')
  }
  // An update built on changes the node never got would wait inside the document for ever
  // (and "stored" would be a lie): the member must sync first.
  if (scratch.store.pendingStructs !== null || scratch.store.pendingDs !== null) {
    throw new PlazaError(ErrorCode.STALE_EPOCH, 'the update depends on changes the node does not have: sync and write again')
  }
  for (const name of scratch.share.keys()) {
    if (name !== CHANNEL_ATTRIBUTES_MAP) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `unexpected shared type ${name}`)
  }
  const attrs = readChannelAttributes(scratch.getMap(CHANNEL_ATTRIBUTES_MAP))
  for (const [k, a] of attrs) {
    checkAttributeKey(k)
    if (utf8Length(a.value) > MAX_ATTRIBUTE_VALUE_BYTES) {
      throw new PlazaError(ErrorCode.ATTRIBUTES_TOO_LARGE, `attribute ${k}: value over ${MAX_ATTRIBUTE_VALUE_BYTES} bytes`)
    }
    if (!isValidId(a.lastUpdateUserId) || a.lastUpdateTs < 0) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `attribute ${k}: bad writer or time`)
  }
  checkAttributeTotals('channel', new Map([...attrs].map(([k, a]) => [k, a.value])))
  return attrs
}

/**
 * The first generation of a channel's document that is not stored yet, the same on every node
 * of a deployment (FNV-1a of the channel and the store's version, which a removal moves on).
 */
export function firstEpoch(appId: string, channel: string, version: number): number {
  let h = 0x811c9dc5
  for (const ch of `${appId}\u0000${channel}\u0000${version}`) {
    h ^= ch.charCodeAt(0)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return 1 + (h % 0x7ffffffe)
}

/** The whole state of `doc` as a sync step 2 (what a member starting from nothing needs). */
export function stateMessage(doc: Y.Doc): Uint8Array {
  const encoder = encoding.createEncoder()
  sync.writeSyncStep2(encoder, doc)
  return encoding.toUint8Array(encoder)
}

export function updateMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  sync.writeUpdate(encoder, update)
  return encoding.toUint8Array(encoder)
}

export function sameAttributes(a: Map<string, ChannelAttribute>, b: Map<string, ChannelAttribute>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) {
    const w = b.get(k)
    if (!w || w.value !== v.value || w.lastUpdateUserId !== v.lastUpdateUserId || w.lastUpdateTs !== v.lastUpdateTs) return false
  }
  return true
}

/** Attributes of `after` that are new or different from `before`. */
export function changedEntries(after: Map<string, ChannelAttribute>, before: Map<string, ChannelAttribute>): ChannelAttribute[] {
  const out: ChannelAttribute[] = []
  for (const [k, v] of after) {
    const w = before.get(k)
    if (!w || w.value !== v.value || w.lastUpdateUserId !== v.lastUpdateUserId || w.lastUpdateTs !== v.lastUpdateTs) out.push(v)
  }
  return out
}
