/**
 * y-webrtc's signaling protocol (its bin/server.js and src/y-webrtc.js): JSON text frames
 *   { type: 'subscribe' | 'unsubscribe', topics: string[] }
 *   { type: 'publish', topic: string, ...fields }   relayed to the topic's subscribers with `clients`
 *   { type: 'ping' }                                 answered { type: 'pong' }
 * Parsed here with every shape checked: a bad frame is a YWebrtcError with a Plaza error code
 * (y-webrtc's own server calls JSON.parse unguarded, so one bad frame ends its process).
 */
import { ErrorCode } from '@plaza/protocol'

export type YFrame =
  | { type: 'subscribe'; topics: string[] }
  | { type: 'unsubscribe'; topics: string[] }
  /** `text`: the frame as received, relayed with `clients` added (see relayText). */
  | { type: 'publish'; topic: string; text: string }
  | { type: 'ping' }

/** Why a frame was refused: its code, and the label of plaza_ywebrtc_refused_total. */
export class YWebrtcError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message)
    this.name = 'YWebrtcError'
  }
}

export type RefusalReason =
  | 'malformed'
  | 'unknown-type'
  | 'invalid-topic'
  | 'too-many-topics'
  | 'address-full'
  | 'topic-full'
  | 'too-often'
  | 'too-large'
  | 'auth'
  | 'slow-reader'

const malformed = (message: string) => new YWebrtcError(ErrorCode.MALFORMED_FRAME, 'malformed', message)

function topicOf(t: unknown, maxBytes: number): string {
  // Topic names are room names, usually short ASCII: bytes checked only when they may be over.
  if (typeof t !== 'string' || t.length === 0 || (t.length * 3 > maxBytes && Buffer.byteLength(t) > maxBytes)) {
    throw new YWebrtcError(ErrorCode.INVALID_CHANNEL_ID, 'invalid-topic', `a topic is a string of 1 to ${maxBytes} bytes`)
  }
  return t
}

function topicsOf(v: unknown, maxTopics: number, maxBytes: number): string[] {
  if (!Array.isArray(v)) throw malformed('"topics" must be an array of strings')
  if (v.length > maxTopics) throw new YWebrtcError(ErrorCode.TOO_MANY_CHANNELS, 'too-many-topics', `at most ${maxTopics} topics`)
  return v.map((t) => topicOf(t, maxBytes))
}

/** Parses one text frame; throws YWebrtcError. */
export function parseFrame(text: string, limits: { topicsPerSocket: number; topicBytes: number }): YFrame {
  let m: unknown
  try {
    m = JSON.parse(text)
  } catch {
    throw malformed('not JSON')
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw malformed('a frame is a JSON object')
  const o = m as Record<string, unknown>
  switch (o.type) {
    case 'subscribe':
    case 'unsubscribe':
      return { type: o.type, topics: topicsOf(o.topics, limits.topicsPerSocket, limits.topicBytes) }
    case 'publish':
      return { type: 'publish', topic: topicOf(o.topic, limits.topicBytes), text }
    case 'ping':
      return { type: 'ping' }
    default:
      if (typeof o.type !== 'string') throw malformed('"type" must be a string')
      throw new YWebrtcError(ErrorCode.UNKNOWN_FRAME, 'unknown-type', `unknown type "${o.type.slice(0, 40)}"`)
  }
}

/**
 * A publish as its subscribers get it: the frame as sent plus `clients`, the topic's subscriber
 * count, as y-webrtc's server adds it. Spliced into the text (parseFrame checked it is one JSON
 * object), so one string serves every subscriber; a `clients` the sender put in is overridden,
 * the last key winning in JSON.parse.
 */
export function relayText(text: string, clients: number): string {
  const end = text.trimEnd()
  return `${end.slice(0, -1)},"clients":${clients}}`
}

export const PONG = '{"type":"pong"}'

/** An error frame (y-webrtc's client ignores types it does not know). */
export function errorText(err: YWebrtcError): string {
  return JSON.stringify({ type: 'error', code: ErrorCode[err.code], message: err.message })
}
