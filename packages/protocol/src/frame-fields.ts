/** Field readers and writers shared by the frame codecs: each checks its caps before allocating. */
import type { Decoder, Encoder } from './binary.js'
import { ErrorCode, ProtocolError, isErrorCode } from './errors.js'
import { isValidId } from './ids.js'
import { AttributeOp } from './attributes.js'
import { SyncKind } from './peer-frames.js'
import {
  MAX_ATTRIBUTE_KEYS,
  MAX_ATTRIBUTE_KEY_BYTES,
  MAX_ATTRIBUTE_VALUE_BYTES,
  MAX_ID_BYTES,
  MAX_IDS_PER_LIST,
} from './limits.js'
import { INVITATION_FAILURE_REASONS, InvitationEventKind, InvitationFailureReason, PEER_ONLINE_STATES, PeerOnlineState, RelayStatus } from './states.js'
import type { AttributeEntry } from './frame-types.js'

export const MAX_TEXT = 1024

export function writeIds(e: Encoder, ids: string[]): void {
  e.varuint(ids.length)
  for (const id of ids) e.string(id)
}

export function readId(d: Decoder): string {
  const id = d.string(MAX_ID_BYTES)
  if (!isValidId(id)) throw new ProtocolError(ErrorCode.INVALID_USER_ID, `invalid user id in frame`)
  return id
}

/** A user id, or '' where the field is optional. */
export function readOptionalId(d: Decoder): string {
  const id = d.string(MAX_ID_BYTES)
  if (id !== '' && !isValidId(id)) throw new ProtocolError(ErrorCode.INVALID_USER_ID, 'invalid user id in frame')
  return id
}

export function readIds(d: Decoder, max = MAX_IDS_PER_LIST): string[] {
  const n = d.count(max)
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push(readId(d))
  return ids
}

export function readChannel(d: Decoder): string {
  const id = d.string(MAX_ID_BYTES)
  if (!isValidId(id)) throw new ProtocolError(ErrorCode.INVALID_CHANNEL_ID, `invalid channel id in frame`)
  return id
}

export function readChannels(d: Decoder, max: number): string[] {
  const n = d.count(max)
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(readChannel(d))
  return out
}

export function readOptionalChannel(d: Decoder): string {
  const id = d.string(MAX_ID_BYTES)
  if (id !== '' && !isValidId(id)) throw new ProtocolError(ErrorCode.INVALID_CHANNEL_ID, 'invalid channel id')
  return id
}

export function writeStrings(e: Encoder, list: string[]): void {
  e.varuint(list.length)
  for (const s of list) e.string(s)
}

export function readKeys(d: Decoder): string[] {
  const n = d.count(MAX_ATTRIBUTE_KEYS)
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(d.string(MAX_ATTRIBUTE_KEY_BYTES))
  return out
}

export function writePairs(e: Encoder, pairs: [string, string][]): void {
  e.varuint(pairs.length)
  for (const [k, v] of pairs) {
    e.string(k)
    e.string(v)
  }
}

export function readPairs(d: Decoder): [string, string][] {
  const n = d.count(MAX_ATTRIBUTE_KEYS)
  const out: [string, string][] = []
  for (let i = 0; i < n; i++) out.push([d.string(MAX_ATTRIBUTE_KEY_BYTES), d.string(MAX_ATTRIBUTE_VALUE_BYTES)])
  return out
}

export function readSyncKind(d: Decoder): SyncKind {
  const k = d.uint8()
  if (k !== SyncKind.DOC && k !== SyncKind.AWARENESS) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown sync kind')
  return k
}

export function readOp(d: Decoder): AttributeOp {
  const op = d.uint8()
  if (op > AttributeOp.CLEAR) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown attribute operation')
  return op
}

export function writeEntries(e: Encoder, entries: AttributeEntry[]): void {
  e.varuint(entries.length)
  for (const a of entries) {
    e.string(a.key)
    e.string(a.value)
    e.string(a.lastUpdateUserId)
    e.varuint(a.lastUpdateTs)
  }
}

export function readEntries(d: Decoder): AttributeEntry[] {
  const n = d.count(MAX_ATTRIBUTE_KEYS)
  const out: AttributeEntry[] = []
  for (let i = 0; i < n; i++) {
    out.push({
      key: d.string(MAX_ATTRIBUTE_KEY_BYTES),
      value: d.string(MAX_ATTRIBUTE_VALUE_BYTES),
      lastUpdateUserId: d.string(MAX_ID_BYTES),
      lastUpdateTs: d.varuint(),
    })
  }
  return out
}

export function readInvitationId(d: Decoder): string {
  const id = d.string(MAX_ID_BYTES)
  if (!isValidId(id)) throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'invalid invitation id')
  return id
}

export function readCode(d: Decoder): ErrorCode {
  const c = d.varuint()
  if (!isErrorCode(c)) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, `unknown error code ${c}`)
  return c
}

export function readPresenceState(d: Decoder): PeerOnlineState {
  const s = PEER_ONLINE_STATES[d.uint8()]
  if (s === undefined) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown presence state')
  return s
}

export function readRelayStatus(d: Decoder): RelayStatus {
  const s = d.uint8()
  if (s > RelayStatus.MEDIA_WANTED) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown relay status')
  return s
}

/** 255 on the wire: no event (or no reason). */
const NONE = 255

export function writeInvitationEvent(e: Encoder, event: InvitationEventKind | null, reason: InvitationFailureReason | null): void {
  e.uint8(event === null ? NONE : event)
  e.uint8(reason === null ? NONE : INVITATION_FAILURE_REASONS.indexOf(reason))
}

export function readInvitationEvent(d: Decoder, optional: boolean): { event: InvitationEventKind | null; reason: InvitationFailureReason | null } {
  const ev = d.uint8()
  if (!(ev === NONE && optional) && ev > InvitationEventKind.FAILURE) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown invitation event')
  const r = d.uint8()
  const reason = r === NONE ? null : INVITATION_FAILURE_REASONS[r]
  if (reason === undefined) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown failure reason')
  return { event: ev === NONE ? null : ev, reason }
}
