/**
 * The node's part in a channel's overlay (PROTOCOL.md, "Channel overlay"): it certifies each
 * member's overlay key at join and introduces members to each other (OVERLAY_CANDIDATES). It
 * never carries overlay messages. Certificates are held in memory for the sessions of this node
 * only; a candidate served by another node of a cluster comes without one (the member gets it
 * from the candidate itself, in its first GOSSIP or on asking).
 */
import {
  ErrorCode,
  FrameType,
  OVERLAY_CERT_TTL_MS,
  ED25519_PUBLIC_KEY_BYTES,
  OVERLAY_MIN_PROTOCOL,
  PlazaError,
  encodeFrame,
  issueOverlayCert,
  type MemberCert,
  type OverlayCandidatesFrame,
} from '@plaza/protocol'
import type { NodeContext } from '../context.js'
import type { Session } from '../session.js'
import { OverlayKeys } from './node-key.js'

/** A random sample of at most `n` in random order (partial Fisher–Yates on a copy). */
export function sampleOf<T>(list: readonly T[], n: number, random: () => number): T[] {
  const a = [...list]
  const k = Math.min(n, a.length)
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (a.length - i))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a.slice(0, k)
}

export class OverlayService {
  readonly keys: OverlayKeys
  /** app \0 channel -> uid -> the certificate this node issued to its session there. */
  private readonly certs = new Map<string, Map<string, MemberCert>>()

  /** session id \0 channel, for this node's members outside a channel's overlay (joined without a key). */
  private readonly outside = new Set<string>()

  constructor(private readonly ctx: NodeContext) {
    this.keys = new OverlayKeys(ctx.config.apps)
  }

  /** Why a join's overlay key is refused, or null (no key is fine). */
  keyRefusal(s: Session, key: Uint8Array | undefined): PlazaError | null {
    if (key === undefined) return null
    if (s.protocol < OVERLAY_MIN_PROTOCOL) return new PlazaError(ErrorCode.INVALID_ARGUMENT, `overlay keys need protocol ${OVERLAY_MIN_PROTOCOL}`)
    if (key.length !== ED25519_PUBLIC_KEY_BYTES) return new PlazaError(ErrorCode.INVALID_ARGUMENT, `an overlay key is ${ED25519_PUBLIC_KEY_BYTES} bytes (Ed25519), not ${key.length}`)
    return null
  }

  /** A fresh certificate for the member's key (a re-join renews it); held for the candidates it is named in. */
  certify(s: Session, channel: string, pubkey: Uint8Array): MemberCert {
    const signer = this.keys.of(s.appId)
    if (!signer) throw new PlazaError(ErrorCode.INVALID_APP_ID, 'unknown app')
    const expiry = this.ctx.rt.clock.now() + OVERLAY_CERT_TTL_MS
    const cert = issueOverlayCert({ app: s.appId, channel, uid: s.uid, pubkey: pubkey.slice(), expiry }, signer.sign)
    const k = key(s.appId, channel)
    let held = this.certs.get(k)
    if (!held) this.certs.set(k, (held = new Map()))
    held.set(s.uid, cert)
    return cert
  }

  /** The member left (or its session ended): its certificate is no longer handed out. */
  forget(appId: string, channel: string, uid: string): void {
    const k = key(appId, channel)
    const held = this.certs.get(k)
    if (held?.delete(uid) && held.size === 0) this.certs.delete(k)
  }

  isOutside(s: Session, channel: string): boolean {
    return this.outside.has(`${s.id}\u0000${channel}`)
  }

  noteOutside(s: Session, channel: string, outside: boolean): void {
    if (outside) this.outside.add(`${s.id}\u0000${channel}`)
    else this.outside.delete(`${s.id}\u0000${channel}`)
  }

  /** Up to `max` random other members in the overlay (not those outside it), with the certificates this node holds for them. */
  async candidates(s: Session, f: OverlayCandidatesFrame): Promise<void> {
    const err =
      (s.channels.has(f.channel) ? null : new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'not a member')) ?? this.ctx.checkRate(s, 'overlayCandidates')
    if (err) return this.ctx.result(s, f.reqId, err)
    const others = (await this.ctx.engine.channelMembers(s.appId, f.channel)).filter((m) => m.uid !== s.uid && !m.outside).map((m) => m.uid)
    const held = this.certs.get(key(s.appId, f.channel))
    const now = this.ctx.rt.clock.now()
    const candidates = sampleOf(others, f.max, this.ctx.rt.random).map((uid) => {
      const cert = held?.get(uid)
      return { uid, cert: cert && cert.expiry > now ? cert : null }
    })
    s.sendNow(encodeFrame({ type: FrameType.OVERLAY_CANDIDATES_RESULT, reqId: f.reqId, channel: f.channel, candidates }))
  }
}

function key(appId: string, channel: string): string {
  return `${appId}\u0000${channel}`
}
