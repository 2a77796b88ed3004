import { sha256 } from '@noble/hashes/sha2.js'

/** An incremental SHA-256. */
export interface Sha256 {
  update(bytes: Uint8Array): void
  digest(): Uint8Array
}

/** Makes hashers: @noble/hashes by default (browsers); the Node entry passes node:crypto's (several times faster). */
export type Sha256Factory = () => Sha256

export const nobleSha256: Sha256Factory = () => {
  const h = sha256.create()
  return {
    update: (b) => void h.update(b),
    digest: () => h.digest(),
  }
}

export function hashOnce(factory: Sha256Factory, bytes: Uint8Array): Uint8Array {
  const h = factory()
  h.update(bytes)
  return h.digest()
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function toHex(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0')
  return s
}

export function fromHex(s: string): Uint8Array | null {
  if (!/^([0-9a-f]{2})*$/i.test(s)) return null
  const out = new Uint8Array(s.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16)
  return out
}

/** RFC 4648 base64url without padding. */
export function base64url(b: Uint8Array): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  let s = ''
  let i = 0
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2]
    s += A[n >> 18] + A[(n >> 12) & 63] + A[(n >> 6) & 63] + A[n & 63]
  }
  if (i < b.length) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8)
    s += A[n >> 18] + A[(n >> 12) & 63]
    if (i + 1 < b.length) s += A[(n >> 6) & 63]
  }
  return s
}

/**
 * The SHA-256 of one piece. In browsers (where the hasher is @noble/hashes, in JavaScript) WebCrypto
 * does it natively when the page has it (secure contexts); node:crypto's is as fast done at once.
 */
export async function hashPiece(factory: Sha256Factory, bytes: Uint8Array): Promise<Uint8Array> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle
  if (factory === nobleSha256 && subtle) return new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  return hashOnce(factory, bytes)
}
