/**
 * Ed25519 for the overlay: WebCrypto where the runtime has it (browsers, Node ≥ 20), behind the
 * OverlayCrypto interface so that a host may give node:crypto's synchronous functions instead.
 * Certificates: the node vouches for each member's key; every hop checks the vouching once per
 * certificate and the origin's signature once per message.
 */
import { overlayCertSigningBytes, type MemberCert } from '@plaza/protocol'
import type { MaybePromise, OverlayCrypto } from './types.js'

const ED25519 = { name: 'Ed25519' } as const

export function webCryptoEd25519Available(): boolean {
  return typeof globalThis.crypto?.subtle?.generateKey === 'function'
}

/** Imported public keys, by their bytes (a member verifies the same few origins again and again). */
const importedKeys = new Map<string, Promise<CryptoKey | null>>()
const MAX_IMPORTED_KEYS = 4096

function importPublic(pubkey: Uint8Array): Promise<CryptoKey | null> {
  const k = hex(pubkey)
  let p = importedKeys.get(k)
  if (!p) {
    p = crypto.subtle.importKey('raw', new Uint8Array(pubkey), ED25519, false, ['verify']).catch(() => null)
    if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.delete(importedKeys.keys().next().value!)
    importedKeys.set(k, p)
  }
  return p
}

/** WebCrypto verification of any key, and signing with `privateKey` (none: sign() rejects). */
export function webCryptoOverlayCrypto(privateKey: CryptoKey | null): OverlayCrypto {
  return {
    async sign(data) {
      if (!privateKey) throw new Error('overlay: no private key to sign with')
      return new Uint8Array(await crypto.subtle.sign(ED25519, privateKey, new Uint8Array(data)))
    },
    async verify(pubkey, data, sig) {
      const key = await importPublic(pubkey)
      if (!key) return false
      try {
        return await crypto.subtle.verify(ED25519, key, new Uint8Array(sig), new Uint8Array(data))
      } catch {
        return false
      }
    },
  }
}

/** A new Ed25519 key pair: the raw public key (for the node to certify) and the crypto that signs with it. */
export async function generateOverlayKey(): Promise<{ publicKey: Uint8Array; crypto: OverlayCrypto }> {
  const pair = (await crypto.subtle.generateKey(ED25519, false, ['sign', 'verify'])) as CryptoKeyPair
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))
  return { publicKey, crypto: webCryptoOverlayCrypto(pair.privateKey) }
}

/** Applies `f` to a value now, or when its promise resolves. */
export function andThen<T, R>(v: MaybePromise<T>, f: (t: T) => R): MaybePromise<R> {
  return v instanceof Promise ? v.then(f) : f(v)
}

/** Checks member certificates against the node's key, remembering the good ones. */
export class CertVerifier {
  /** By uid and expiry: the key and signature checked. */
  private readonly good = new Map<string, { pubkey: Uint8Array; sig: Uint8Array }>()

  constructor(
    private readonly crypto: OverlayCrypto,
    private readonly nodeKey: Uint8Array,
    private readonly app: string,
    private readonly channel: string,
    private readonly maxSize: number,
  ) {}

  /** Whether the node vouched for `cert` in this app and channel and it has not expired. */
  verify(cert: MemberCert, now: number): MaybePromise<boolean> {
    if (cert.app !== this.app || cert.channel !== this.channel || cert.expiry <= now) return false
    const key = `${cert.uid}\n${cert.expiry}`
    const known = this.good.get(key)
    if (known && equal(known.pubkey, cert.pubkey) && equal(known.sig, cert.sig)) return true
    return andThen(this.crypto.verify(this.nodeKey, overlayCertSigningBytes(cert), cert.sig), (ok) => {
      if (ok) {
        if (this.good.size >= this.maxSize) this.good.delete(this.good.keys().next().value!)
        this.good.set(key, { pubkey: cert.pubkey.slice(), sig: cert.sig.slice() })
      }
      return ok
    })
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function hex(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!]
  return s
}
