/**
 * Frames between two clients: sent over their direct WebRTC data channel, or wrapped in
 * RELAY_TO / RELAY_FROM through the rendezvous, or kept in the offline store. The same
 * bytes travel every path, so the receiver de-duplicates and orders them the same way.
 */
import { Decoder, Encoder, utf8Length } from './binary.js'
import { ErrorCode, ProtocolError } from './errors.js'
import { isValidId } from './ids.js'
import { MAX_DESCRIPTION_BYTES, MAX_DOC_PAYLOAD_BYTES, MAX_ID_BYTES, MAX_MESSAGE_BYTES } from './limits.js'
import { readRanges, writeRanges, type SeqRange } from './ranges.js'

export enum PeerFrameType {
  /** A peer or channel message: one step of the sender's ordered stream to this receiver. */
  MESSAGE = 1,
  /** Cumulative acknowledgement: every seq ≤ upTo of the stream was delivered to the app. */
  ACK = 2,
  /** A channel's Yjs sync or awareness message (idempotent; not sequenced, not acknowledged). */
  SYNC = 3,
}

export enum MessageKind {
  TEXT = 0,
  RAW = 1,
  /** A file or image: the body is a MediaInfo (media-frames.ts), the bytes travel apart. */
  MEDIA = 2,
}

export enum SyncKind {
  /** A y-protocols sync message for the channel document. */
  DOC = 2,
  /** A y-protocols awareness update for the channel. */
  AWARENESS = 3,
}

export const MAX_STREAM_ID_BYTES = 32
/** Streams of messages the node sends for an app's server (REST): acknowledged through the node. */
export const NODE_STREAM_PREFIX = '~'
/** Streams of channel messages the node fans out to every member (large channels): never acknowledged. */
export const BROADCAST_STREAM_PREFIX = '*'

/**
 * `stream` names one sender's outbox towards one receiver (random, new per client instance);
 * `seq` counts from 1 within it. `floor` is the lowest seq the sender still tries to deliver:
 * everything below it was acknowledged or given up, so a receiver never waits for it.
 */
export type PeerMessageFrame = {
  type: PeerFrameType.MESSAGE
  stream: string
  /** The channel this message was sent to; '' for a peer message. */
  channel: string
  seq: number
  floor: number
  sentTs: number
  kind: MessageKind
  text: string
  bytes: Uint8Array
  description: string
  /**
   * Channel messages only: the sender's overlay message (its overlay stream and seq) this one
   * follows. A receiver that gets that stream delivers this message after it (the sender went
   * from the overlay to copies: the overlay's path is longer). Absent on every other message.
   */
  after?: OverlayAfter | null
}

/** A message of the sender's own channel overlay stream (PROTOCOL.md, "Channel overlay"). */
export type OverlayAfter = { stream: string; seq: number }

/**
 * Every seq ≤ `upTo` of the stream was handed to the receiver's app, except those in `missing`
 * (skipped: the receiver will never deliver them). Seqs below `known` are beyond what the
 * receiver remembers: their fate is unknown to it.
 */
export type PeerAckFrame = { type: PeerFrameType.ACK; stream: string; upTo: number; missing: SeqRange[]; known: number }

export type PeerSyncFrame = {
  type: PeerFrameType.SYNC
  channel: string
  /** DOC: the generation of the channel document the payload belongs to. */
  epoch: number
  kind: SyncKind
  /** DOC: the writer asked members to be told (AttributesUpdated). */
  notify: boolean
  payload: Uint8Array
}

export type PeerFrame = PeerMessageFrame | PeerAckFrame | PeerSyncFrame

/** Size of a message body as the limits count it (UTF-8 for text). */
export function messageBodyBytes(kind: MessageKind, text: string, bytes: Uint8Array): number {
  return kind === MessageKind.TEXT ? utf8Length(text) : bytes.length
}

export function encodePeerFrame(f: PeerFrame): Uint8Array {
  if (f.type === PeerFrameType.SYNC) {
    const e = new Encoder(f.payload.length + 80)
    e.varuint(f.type)
    e.string(f.channel)
    e.varuint(f.epoch)
    e.uint8(f.kind)
    e.bool(f.notify)
    e.bytes(f.payload)
    return e.finish()
  }
  const e = new Encoder(f.type === PeerFrameType.MESSAGE ? 96 + f.bytes.length + f.text.length * 3 : 48)
  e.varuint(f.type)
  e.string(f.stream)
  if (f.type === PeerFrameType.ACK) {
    e.varuint(f.upTo)
    writeRanges(e, f.missing)
    e.varuint(f.known)
    return e.finish()
  }
  e.string(f.channel)
  e.varuint(f.seq)
  e.varuint(f.floor)
  e.varuint(f.sentTs)
  e.uint8(f.kind)
  if (f.kind === MessageKind.TEXT) e.string(f.text)
  else {
    e.bytes(f.bytes)
    e.string(f.description)
  }
  if (f.after && f.channel !== '') {
    e.string(f.after.stream)
    e.varuint(f.after.seq)
  }
  return e.finish()
}

const EMPTY = new Uint8Array(0)

function readChannel(d: Decoder, optional: boolean): string {
  const channel = d.string(MAX_ID_BYTES)
  if ((channel !== '' || !optional) && !isValidId(channel)) {
    throw new ProtocolError(ErrorCode.INVALID_CHANNEL_ID, 'invalid channel id')
  }
  return channel
}

export function decodePeerFrame(bytes: Uint8Array): PeerFrame {
  const d = new Decoder(bytes)
  const type = d.varuint()
  if (type === PeerFrameType.SYNC) {
    const channel = readChannel(d, false)
    const epoch = d.varuint()
    const kind = d.uint8()
    if (kind !== SyncKind.DOC && kind !== SyncKind.AWARENESS) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown sync kind')
    const f: PeerSyncFrame = { type, channel, epoch, kind, notify: d.bool(), payload: d.bytes(MAX_DOC_PAYLOAD_BYTES) }
    d.end()
    return f
  }
  if (type !== PeerFrameType.MESSAGE && type !== PeerFrameType.ACK) {
    throw new ProtocolError(ErrorCode.UNKNOWN_FRAME, `unknown peer frame type ${type}`)
  }
  const stream = d.string(MAX_STREAM_ID_BYTES)
  if (stream.length === 0) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'empty stream id')
  if (type === PeerFrameType.ACK) {
    const f: PeerAckFrame = { type, stream, upTo: d.varuint(), missing: readRanges(d), known: d.varuint() }
    d.end()
    return f
  }
  const channel = readChannel(d, true)
  const seq = d.varuint()
  const floor = d.varuint()
  const sentTs = d.varuint()
  const kind = d.uint8()
  if (seq < 1 || floor < 1 || floor > seq) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'bad sequence numbers')
  let text = ''
  let body: Uint8Array = EMPTY
  let description = ''
  if (kind === MessageKind.TEXT) text = d.string(MAX_MESSAGE_BYTES)
  else if (kind === MessageKind.RAW || kind === MessageKind.MEDIA) {
    body = d.bytes(MAX_MESSAGE_BYTES)
    description = d.string(MAX_DESCRIPTION_BYTES)
  } else throw new ProtocolError(ErrorCode.MALFORMED_FRAME, `unknown message kind ${kind}`)
  let after: OverlayAfter | null = null
  if (d.remaining > 0 && channel !== '') {
    after = { stream: d.string(MAX_STREAM_ID_BYTES), seq: d.varuint() }
    if (after.stream.length === 0 || after.seq < 1) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'bad overlay reference')
  }
  d.end()
  // One literal, every field in the order the encoder takes them: one object shape for every message.
  return { type: PeerFrameType.MESSAGE, stream, channel, seq, floor, sentTs, kind, text, bytes: body, description, after }
}

/** The header of a MESSAGE frame without decoding the body; null for another frame or bad bytes. */
export function peekMessageHeader(bytes: Uint8Array): { stream: string; channel: string; seq: number } | null {
  try {
    const d = new Decoder(bytes)
    if (d.varuint() !== PeerFrameType.MESSAGE) return null
    const stream = d.string(MAX_STREAM_ID_BYTES)
    const channel = d.string(MAX_ID_BYTES)
    const seq = d.varuint()
    const floor = d.varuint()
    // What decodePeerFrame refuses: a receiver could not read it, so the node does not pass it on.
    if (seq < 1 || floor < 1 || floor > seq) return null
    return { stream, channel, seq }
  } catch {
    return null
  }
}

/** The channel of a MESSAGE frame without decoding the body ('' for a peer message or another frame). */
export function peekMessageChannel(bytes: Uint8Array): string {
  return peekMessageHeader(bytes)?.channel ?? ''
}
