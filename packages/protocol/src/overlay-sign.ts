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

// ---- node certificates (issue 14, part 2) ----

/** Signs with the node's Ed25519 private key (node:crypto's `sign(null, bytes, key)`, say). */
export type OverlaySignFn = (bytes: Uint8Array) => Uint8Array
/** Checks an Ed25519 signature by `pubkey` (raw, 32 bytes) over `bytes`. */
export type OverlayVerifyFn = (pubkey: Uint8Array, bytes: Uint8Array, sig: Uint8Array) => boolean | Promise<boolean>

/** The node's word that `uid` holds `pubkey` in `channel` of `app` until `expiry`. */
export function issueOverlayCert(fields: Omit<MemberCert, 'sig'>, sign: OverlaySignFn): MemberCert {
  const c = { app: fields.app, channel: fields.channel, uid: fields.uid, pubkey: fields.pubkey, expiry: fields.expiry }
  return { ...c, sig: sign(overlayCertSigningBytes(c)) }
}

/** Whether `cert` was signed by the node key `nodePublicKey` and has not expired at `now`. */
export async function verifyOverlayCert(cert: MemberCert, nodePublicKey: Uint8Array, now: number, verify: OverlayVerifyFn): Promise<boolean> {
  if (cert.expiry <= now) return false
  return verify(nodePublicKey, overlayCertSigningBytes(cert), cert.sig)
}
