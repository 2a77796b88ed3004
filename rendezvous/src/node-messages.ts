import { Decoder, Encoder, MAX_DOC_PAYLOAD_BYTES, MAX_ID_BYTES, MAX_PEER_FRAME_BYTES } from '@plaza/protocol'

/**
 * What one node tells every node of a deployment (Engine.toNodes): an acknowledgement of a
 * message a REST call on some node waits for; a member's awareness state (or its leaving), so
 * that every node can hand a joiner the states of the members on the other nodes; a y-webrtc
 * publish, for the topic's subscribers on the other nodes (`topic` with its app, see ywebrtc/).
 */
export type NodeMessage =
  | { kind: 'ack'; payload: Uint8Array }
  | { kind: 'awareness'; from: string; appId: string; channel: string; owner: string; payload: Uint8Array | null }
  | { kind: 'ywebrtc'; from: string; topic: string; text: string }

const ACK = 1
const AWARENESS = 2
const YWEBRTC = 3
/** A y-webrtc topic with its app, and a publish frame (--ywebrtc-limit frameBytes is checked before). */
const MAX_YWEBRTC_TOPIC_BYTES = 64 * 1024
const MAX_YWEBRTC_TEXT_BYTES = 64 * 1024 * 1024
const MAX_NODE_ID_BYTES = 256

export function encodeNodeMessage(m: NodeMessage): Uint8Array {
  const e = new Encoder(64 + (m.kind === 'ywebrtc' ? m.text.length * 3 + m.topic.length * 3 : (m.payload?.length ?? 0)))
  if (m.kind === 'ack') {
    e.uint8(ACK)
    e.bytes(m.payload)
    return e.finish()
  }
  if (m.kind === 'ywebrtc') {
    e.uint8(YWEBRTC)
    e.string(m.from)
    e.string(m.topic)
    e.string(m.text)
    return e.finish()
  }
  e.uint8(AWARENESS)
  e.string(m.from)
  e.string(m.appId)
  e.string(m.channel)
  e.string(m.owner)
  e.uint8(m.payload ? 1 : 0)
  if (m.payload) e.bytes(m.payload)
  return e.finish()
}

/** Null for what this version does not know (a newer node's message). */
export function decodeNodeMessage(bytes: Uint8Array): NodeMessage | null {
  try {
    const d = new Decoder(bytes)
    const kind = d.uint8()
    if (kind === ACK) return { kind: 'ack', payload: d.bytes(MAX_PEER_FRAME_BYTES) }
    if (kind === YWEBRTC) return { kind: 'ywebrtc', from: d.string(MAX_NODE_ID_BYTES), topic: d.string(MAX_YWEBRTC_TOPIC_BYTES), text: d.string(MAX_YWEBRTC_TEXT_BYTES) }
    if (kind !== AWARENESS) return null
    const from = d.string(MAX_NODE_ID_BYTES)
    const appId = d.string(MAX_ID_BYTES)
    const channel = d.string(MAX_ID_BYTES)
    const owner = d.string(MAX_ID_BYTES)
    const payload = d.uint8() === 1 ? d.bytes(MAX_DOC_PAYLOAD_BYTES) : null
    return { kind: 'awareness', from, appId, channel, owner, payload }
  } catch {
    return null
  }
}
