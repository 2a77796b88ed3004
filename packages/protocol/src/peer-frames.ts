/**
 * Frames between two clients: sent over their direct WebRTC data channel, or wrapped in
 * RELAY_TO / RELAY_FROM through the rendezvous, or kept in the offline store. The same
 * bytes travel every path, so the receiver de-duplicates and orders them the same way.
 */
import { Decoder, Encoder, utf8Length } from './binary.js'
import { ErrorCode, ProtocolError } from './errors.js'
import { MAX_DESCRIPTION_BYTES, MAX_MESSAGE_BYTES } from './limits.js'

export enum PeerFrameType {
  /** A peer message: one step of the sender's ordered stream to this receiver. */
  MESSAGE = 1,
  /** Cumulative acknowledgement: every seq ≤ upTo of the stream was delivered to the app. */
  ACK = 2,
}

export enum MessageKind {
  TEXT = 0,
  RAW = 1,
}

export const MAX_STREAM_ID_BYTES = 32

/**
 * `stream` names one sender's outbox towards one receiver (random, new per client instance);
 * `seq` counts from 1 within it. `floor` is the lowest seq the sender still tries to deliver:
 * everything below it was acknowledged or given up, so a receiver never waits for it.
 */
export type PeerMessageFrame = {
  type: PeerFrameType.MESSAGE
  stream: string
  seq: number
  floor: number
  sentTs: number
  kind: MessageKind
  text: string
  bytes: Uint8Array
  description: string
}

export type PeerAckFrame = { type: PeerFrameType.ACK; stream: string; upTo: number }

export type PeerFrame = PeerMessageFrame | PeerAckFrame

/** Size of a message body as the limits count it (UTF-8 for text). */
export function messageBodyBytes(kind: MessageKind, text: string, bytes: Uint8Array): number {
  return kind === MessageKind.TEXT ? utf8Length(text) : bytes.length
}

export function encodePeerFrame(f: PeerFrame): Uint8Array {
  const e = new Encoder(f.type === PeerFrameType.MESSAGE ? 64 + f.bytes.length + f.text.length * 3 : 48)
  e.varuint(f.type)
  e.string(f.stream)
  if (f.type === PeerFrameType.ACK) {
    e.varuint(f.upTo)
    return e.finish()
  }
  e.varuint(f.seq)
  e.varuint(f.floor)
  e.varuint(f.sentTs)
  e.uint8(f.kind)
  if (f.kind === MessageKind.TEXT) e.string(f.text)
  else {
    e.bytes(f.bytes)
    e.string(f.description)
  }
  return e.finish()
}

const EMPTY = new Uint8Array(0)

export function decodePeerFrame(bytes: Uint8Array): PeerFrame {
  const d = new Decoder(bytes)
  const type = d.varuint()
  if (type !== PeerFrameType.MESSAGE && type !== PeerFrameType.ACK) {
    throw new ProtocolError(ErrorCode.UNKNOWN_FRAME, `unknown peer frame type ${type}`)
  }
  const stream = d.string(MAX_STREAM_ID_BYTES)
  if (stream.length === 0) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'empty stream id')
  if (type === PeerFrameType.ACK) {
    const f: PeerAckFrame = { type, stream, upTo: d.varuint() }
    d.end()
    return f
  }
  const seq = d.varuint()
  const floor = d.varuint()
  const sentTs = d.varuint()
  const kind = d.uint8()
  if (seq < 1 || floor < 1 || floor > seq) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'bad sequence numbers')
  let f: PeerMessageFrame
  if (kind === MessageKind.TEXT) {
    const text = d.string(MAX_MESSAGE_BYTES)
    f = { type, stream, seq, floor, sentTs, kind, text, bytes: EMPTY, description: '' }
  } else if (kind === MessageKind.RAW) {
    const body = d.bytes(MAX_MESSAGE_BYTES)
    const description = d.string(MAX_DESCRIPTION_BYTES)
    f = { type, stream, seq, floor, sentTs, kind, text: '', bytes: body, description }
  } else {
    throw new ProtocolError(ErrorCode.MALFORMED_FRAME, `unknown message kind ${kind}`)
  }
  d.end()
  return f
}
