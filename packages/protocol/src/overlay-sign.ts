/**
 * What the overlay's signatures cover (PROTOCOL.md, "Channel overlay"). Ed25519 over these bytes:
 * the origin signs each message, the node signs each member's certificate. A domain tag first, so
 * a signature made for one purpose never verifies for another.
 */
import { Encoder } from './binary.js'
import type { MemberCert, OverlayGossipFrame } from './overlay-frames.js'

const MESSAGE_TAG = 'plaza/overlay-message/1'
const CERT_TAG = 'plaza/overlay-cert/1'

/** The fields of a message its origin signs: all but `hops` and `flags` (forwarders change those) and the cert (signed by the node). */
export type SignedMessageFields = Pick<OverlayGossipFrame, 'channel' | 'origin' | 'stream' | 'seq' | 'prevTs' | 'sentTs' | 'kind' | 'body'>

export function overlayMessageSigningBytes(m: SignedMessageFields): Uint8Array {
  const e = new Encoder(96 + m.body.length)
  e.string(MESSAGE_TAG)
  e.string(m.channel)
  e.string(m.origin)
  e.string(m.stream)
  e.varuint(m.seq)
  e.varuint(m.prevTs)
  e.varuint(m.sentTs)
  e.uint8(m.kind)
  e.bytes(m.body)
  return e.finish()
}

export function overlayCertSigningBytes(c: Omit<MemberCert, 'sig'>): Uint8Array {
  const e = new Encoder(160)
  e.string(CERT_TAG)
  e.string(c.app)
  e.string(c.channel)
  e.string(c.uid)
  e.bytes(c.pubkey)
  e.varuint(c.expiry)
  return e.finish()
}
