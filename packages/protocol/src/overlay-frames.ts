/**
 * Frames of a large channel's overlay (PROTOCOL.md, "Channel overlay"): members of a channel
 * above the full-mesh threshold keep a few links each and pass channel messages along them.
 * They travel the same peer data channels as peer frames; their type numbers start at 16 so the
 * two sets never overlap.
 */
import { Decoder, Encoder } from './binary.js'
import { ErrorCode, ProtocolError } from './errors.js'
import { isValidId } from './ids.js'
import { MAX_DESCRIPTION_BYTES, MAX_ID_BYTES, MAX_MESSAGE_BYTES } from './limits.js'
import { MAX_STREAM_ID_BYTES, MessageKind } from './peer-frames.js'

export enum OverlayFrameType {
  /** A channel message, pushed eagerly along the tree (or sent in answer to GRAFT or PULL). */
  GOSSIP = 16,
  /** "I have these messages": lazy announcements over the links that are not in the tree. */
  IHAVE = 17,
  /** "Send me these and push to me from now on": repairs the tree after a missing message. */
  GRAFT = 18,
  /** "Stop pushing these streams to me; announce them": sent on a duplicate. */
  PRUNE = 19,
  /** "Send me what you hold of this stream in [from, to]": fills a gap in one origin's sequence. */
  PULL = 20,
  /** Asks to become neighbours (a link of the overlay). */
  NEIGHBOR = 21,
  /** The answer to NEIGHBOR; a refusal may suggest other members to ask. */
  NEIGHBOR_REPLY = 22,
  /** The sender drops the link (leaving, or making room); may suggest other members. */
  DISCONNECT = 23,
}

export const OVERLAY_FRAME_MIN = OverlayFrameType.GOSSIP
export const OVERLAY_FRAME_MAX = OverlayFrameType.DISCONNECT

/** Message ids in one IHAVE or GRAFT, streams in one PRUNE. */
export const MAX_OVERLAY_IDS = 256
/** Seqs one PULL may ask for. */
export const MAX_PULL_SPAN = 256
/** Members suggested in one NEIGHBOR_REPLY or DISCONNECT. */
export const MAX_OVERLAY_SUGGESTIONS = 16
export const ED25519_PUBLIC_KEY_BYTES = 32
export const ED25519_SIGNATURE_BYTES = 64
/** Application bytes of one overlay message: see encodeOverlayBody (a description rides with raw and media bodies). */
export const MAX_OVERLAY_BODY_BYTES = MAX_MESSAGE_BYTES + MAX_DESCRIPTION_BYTES + 8

/** A channel message as an overlay body: text as its UTF-8 bytes; raw and media bytes after their description. */
export function encodeOverlayBody(kind: MessageKind, text: string, bytes: Uint8Array, description: string): Uint8Array {
  if (kind === MessageKind.TEXT) return new TextEncoder().encode(text)
  const e = new Encoder(bytes.length + description.length * 3 + 8)
  e.string(description)
  e.bytes(bytes)
  return e.finish()
}

/** The message in an overlay body (see encodeOverlayBody); throws ProtocolError for a malformed one. */
export function decodeOverlayBody(kind: MessageKind, body: Uint8Array): { text: string; bytes: Uint8Array; description: string } {
  if (kind === MessageKind.TEXT) {
    if (body.length > MAX_MESSAGE_BYTES) throw new ProtocolError(ErrorCode.INVALID_MESSAGE, 'overlay text too long')
    return { text: new TextDecoder().decode(body), bytes: new Uint8Array(0), description: '' }
  }
  const d = new Decoder(body)
  const description = d.string(MAX_DESCRIPTION_BYTES)
  const bytes = d.bytes(MAX_MESSAGE_BYTES)
  if (d.remaining !== 0) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'trailing bytes in an overlay body')
  return { text: '', bytes, description }
}

/**
 * The node's word that `uid` holds `pubkey` in `channel` of `app` until `expiry` (ms since the
 * epoch): Ed25519 by the node's key over overlayCertSigningBytes (overlay-sign.ts).
 */
export type MemberCert = {
  app: string
  channel: string
  uid: string
  pubkey: Uint8Array
  expiry: number
  sig: Uint8Array
}

/** One origin's stream: `stream` is random per client instance, its seqs count from 1. */
export type OverlayStreamRef = { origin: string; stream: string }
export type OverlayMessageId = OverlayStreamRef & { seq: number }

export const GossipFlag = {
  /** An answer to GRAFT or PULL: a duplicate of it is no reason to prune. */
  REPAIR: 1,
} as const

export type OverlayGossipFrame = {
  type: OverlayFrameType.GOSSIP
  channel: string
  origin: string
  stream: string
  seq: number
  /** When the origin sent its previous message of the stream (0 for the first): tells a new member whether it missed it. */
  prevTs: number
  sentTs: number
  kind: MessageKind
  body: Uint8Array
  /** Links travelled so far (not signed: forwarders add one). */
  hops: number
  flags: number
  /** The origin's Ed25519 signature over overlayMessageSigningBytes. */
  sig: Uint8Array
  cert: MemberCert
}

/** An announced message with the hops it took to reach the announcer (a member grafts the closest one). */
export type OverlayIHaveEntry = OverlayMessageId & { hops: number }
export type OverlayIHaveFrame = { type: OverlayFrameType.IHAVE; channel: string; ids: OverlayIHaveEntry[] }
export type OverlayGraftFrame = { type: OverlayFrameType.GRAFT; channel: string; ids: OverlayMessageId[] }
export type OverlayPruneFrame = { type: OverlayFrameType.PRUNE; channel: string; streams: OverlayStreamRef[] }
export type OverlayPullFrame = { type: OverlayFrameType.PULL; channel: string; origin: string; stream: string; from: number; to: number }
export type OverlayNeighborFrame = {
  type: OverlayFrameType.NEIGHBOR
  channel: string
  /** The asker has fewer links than it must keep: accept even when full (dropping another link). */
  urgent: boolean
}
export type OverlayNeighborReplyFrame = { type: OverlayFrameType.NEIGHBOR_REPLY; channel: string; accepted: boolean; suggest: string[] }
export type OverlayDisconnectFrame = { type: OverlayFrameType.DISCONNECT; channel: string; suggest: string[] }

export type OverlayFrame =
  | OverlayGossipFrame
  | OverlayIHaveFrame
  | OverlayGraftFrame
  | OverlayPruneFrame
  | OverlayPullFrame
  | OverlayNeighborFrame
  | OverlayNeighborReplyFrame
  | OverlayDisconnectFrame

/** Whether these bytes claim to be an overlay frame (by type number; decode to be sure). */
export function isOverlayFrameBytes(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0]! >= OVERLAY_FRAME_MIN && bytes[0]! <= OVERLAY_FRAME_MAX
}

export function writeMemberCert(e: Encoder, c: MemberCert): void {
  e.string(c.app)
  e.string(c.channel)
  e.string(c.uid)
  e.bytes(c.pubkey)
  e.varuint(c.expiry)
  e.bytes(c.sig)
}

export function readMemberCert(d: Decoder): MemberCert {
  const app = readId(d, ErrorCode.INVALID_APP_ID)
  const channel = readId(d, ErrorCode.INVALID_CHANNEL_ID)
  const uid = readId(d, ErrorCode.INVALID_USER_ID)
  const pubkey = readFixed(d, ED25519_PUBLIC_KEY_BYTES, 'public key')
  const expiry = d.varuint()
  const sig = readFixed(d, ED25519_SIGNATURE_BYTES, 'certificate signature')
  return { app, channel, uid, pubkey, expiry, sig }
}

function readId(d: Decoder, code: ErrorCode): string {
  const s = d.string(MAX_ID_BYTES)
  if (!isValidId(s)) throw new ProtocolError(code, 'invalid id')
  return s
}

function readStream(d: Decoder): string {
  const s = d.string(MAX_STREAM_ID_BYTES)
  if (!isValidId(s)) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'invalid stream id')
  return s
}

function readSeq(d: Decoder): number {
  const n = d.varuint()
  if (n < 1) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'seq must be ≥ 1')
  return n
}

function readFixed(d: Decoder, n: number, what: string): Uint8Array {
  const b = d.bytes(n)
  if (b.length !== n) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, `${what} must be ${n} bytes`)
  return b
}

function writeIds(e: Encoder, ids: OverlayMessageId[], hops: boolean): void {
  e.varuint(ids.length)
  for (const id of ids) {
    e.string(id.origin)
    e.string(id.stream)
    e.varuint(id.seq)
    if (hops) e.varuint((id as OverlayIHaveEntry).hops)
  }
}

function readIds(d: Decoder): OverlayMessageId[] {
  const n = d.count(MAX_OVERLAY_IDS)
  const out: OverlayMessageId[] = []
  for (let i = 0; i < n; i++) out.push({ origin: readId(d, ErrorCode.INVALID_USER_ID), stream: readStream(d), seq: readSeq(d) })
  return out
}

function readIHaveIds(d: Decoder): OverlayIHaveEntry[] {
  const n = d.count(MAX_OVERLAY_IDS)
  const out: OverlayIHaveEntry[] = []
  for (let i = 0; i < n; i++) out.push({ origin: readId(d, ErrorCode.INVALID_USER_ID), stream: readStream(d), seq: readSeq(d), hops: d.varuint() })
  return out
}

function writeUids(e: Encoder, uids: string[]): void {
  e.varuint(uids.length)
  for (const u of uids) e.string(u)
}

function readUids(d: Decoder): string[] {
  const n = d.count(MAX_OVERLAY_SUGGESTIONS)
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(readId(d, ErrorCode.INVALID_USER_ID))
  return out
}

export function encodeOverlayFrame(f: OverlayFrame): Uint8Array {
  const e = new Encoder(f.type === OverlayFrameType.GOSSIP ? 320 + f.body.length : 64)
  e.varuint(f.type)
  e.string(f.channel)
  switch (f.type) {
    case OverlayFrameType.GOSSIP:
      e.string(f.origin)
      e.string(f.stream)
      e.varuint(f.seq)
      e.varuint(f.prevTs)
      e.varuint(f.sentTs)
      e.uint8(f.kind)
      e.bytes(f.body)
      e.varuint(f.hops)
      e.varuint(f.flags)
      e.bytes(f.sig)
      writeMemberCert(e, f.cert)
      break
    case OverlayFrameType.IHAVE:
      writeIds(e, f.ids, true)
      break
    case OverlayFrameType.GRAFT:
      writeIds(e, f.ids, false)
      break
    case OverlayFrameType.PRUNE:
      e.varuint(f.streams.length)
      for (const s of f.streams) {
        e.string(s.origin)
        e.string(s.stream)
      }
      break
    case OverlayFrameType.PULL:
      e.string(f.origin)
      e.string(f.stream)
      e.varuint(f.from)
      e.varuint(f.to - f.from)
      break
    case OverlayFrameType.NEIGHBOR:
      e.bool(f.urgent)
      break
    case OverlayFrameType.NEIGHBOR_REPLY:
      e.bool(f.accepted)
      writeUids(e, f.suggest)
      break
    case OverlayFrameType.DISCONNECT:
      writeUids(e, f.suggest)
      break
  }
  return e.finish()
}

/** Decodes one overlay frame; throws ProtocolError (a code, never anything else) for bad bytes. */
export function decodeOverlayFrame(bytes: Uint8Array): OverlayFrame {
  const d = new Decoder(bytes)
  const type = d.varuint()
  if (type < OVERLAY_FRAME_MIN || type > OVERLAY_FRAME_MAX) throw new ProtocolError(ErrorCode.UNKNOWN_FRAME, `unknown overlay frame type ${type}`)
  const channel = readId(d, ErrorCode.INVALID_CHANNEL_ID)
  let f: OverlayFrame
  switch (type as OverlayFrameType) {
    case OverlayFrameType.GOSSIP: {
      const origin = readId(d, ErrorCode.INVALID_USER_ID)
      const stream = readStream(d)
      const seq = readSeq(d)
      const prevTs = d.varuint()
      const sentTs = d.varuint()
      const kind = d.uint8()
      if (kind !== MessageKind.TEXT && kind !== MessageKind.RAW && kind !== MessageKind.MEDIA) {
        throw new ProtocolError(ErrorCode.MALFORMED_FRAME, `unknown message kind ${kind}`)
      }
      const body = d.bytes(MAX_OVERLAY_BODY_BYTES)
      const hops = d.varuint()
      const flags = d.varuint()
      if (flags & ~GossipFlag.REPAIR) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown gossip flags')
      const sig = readFixed(d, ED25519_SIGNATURE_BYTES, 'signature')
      const cert = readMemberCert(d)
      if (cert.uid !== origin || cert.channel !== channel) {
        throw new ProtocolError(ErrorCode.INVALID_MESSAGE, 'certificate is for another member or channel')
      }
      if (seq === 1 && prevTs !== 0) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'first message with a previous time')
      f = { type: OverlayFrameType.GOSSIP, channel, origin, stream, seq, prevTs, sentTs, kind, body, hops, flags, sig, cert }
      break
    }
    case OverlayFrameType.IHAVE:
      f = { type: OverlayFrameType.IHAVE, channel, ids: readIHaveIds(d) }
      break
    case OverlayFrameType.GRAFT:
      f = { type: OverlayFrameType.GRAFT, channel, ids: readIds(d) }
      break
    case OverlayFrameType.PRUNE: {
      const n = d.count(MAX_OVERLAY_IDS)
      const streams: OverlayStreamRef[] = []
      for (let i = 0; i < n; i++) streams.push({ origin: readId(d, ErrorCode.INVALID_USER_ID), stream: readStream(d) })
      f = { type: OverlayFrameType.PRUNE, channel, streams }
      break
    }
    case OverlayFrameType.PULL: {
      const origin = readId(d, ErrorCode.INVALID_USER_ID)
      const stream = readStream(d)
      const from = readSeq(d)
      const span = d.varuint()
      if (span >= MAX_PULL_SPAN) throw new ProtocolError(ErrorCode.TOO_MANY_IDS, `pull of ${span + 1} seqs exceeds ${MAX_PULL_SPAN}`)
      f = { type: OverlayFrameType.PULL, channel, origin, stream, from, to: from + span }
      break
    }
    case OverlayFrameType.NEIGHBOR:
      f = { type: OverlayFrameType.NEIGHBOR, channel, urgent: d.bool() }
      break
    case OverlayFrameType.NEIGHBOR_REPLY:
      f = { type: OverlayFrameType.NEIGHBOR_REPLY, channel, accepted: d.bool(), suggest: readUids(d) }
      break
    case OverlayFrameType.DISCONNECT:
      f = { type: OverlayFrameType.DISCONNECT, channel, suggest: readUids(d) }
      break
  }
  d.end()
  return f
}

/** The frame's type and channel without decoding the rest; null for bytes that are not an overlay frame. */
export function peekOverlayFrame(bytes: Uint8Array): { type: OverlayFrameType; channel: string } | null {
  if (!isOverlayFrameBytes(bytes)) return null
  try {
    const d = new Decoder(bytes)
    const type = d.varuint() as OverlayFrameType
    return { type, channel: d.string(MAX_ID_BYTES) }
  } catch {
    return null
  }
}
