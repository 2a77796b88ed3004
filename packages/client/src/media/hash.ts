import { sha256 } from '@noble/hashes/sha2.js'
import { toBase64UrlEncoded } from 'lib0/buffer'
import { mediaIdInput } from '@plaza/protocol'

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

/** The media id of a file (see media-frames.ts): base64url of SHA-256 over its size, piece size and manifest. */
export function mediaIdOf(factory: Sha256Factory, size: number, pieceSize: number, manifest: Uint8Array): string {
  return toBase64UrlEncoded(hashOnce(factory, mediaIdInput(size, pieceSize, manifest)))
}

/** `parts` one after another in one buffer (one part: itself). */
export function concatBytes(parts: readonly Uint8Array[], length = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * The SHA-256 of one piece, given as its parts in order. In browsers (where the hasher is
 * @noble/hashes, in JavaScript) WebCrypto does it natively when the page has it (secure contexts),
 * on one buffer; node:crypto's takes the parts as they are.
 */
export async function hashPiece(factory: Sha256Factory, parts: readonly Uint8Array[]): Promise<Uint8Array> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle
  if (factory === nobleSha256 && subtle) return new Uint8Array(await subtle.digest('SHA-256', concatBytes(parts) as Uint8Array<ArrayBuffer>))
  const h = factory()
  for (const p of parts) h.update(p)
  return h.digest()
}

/**
 * A file's SHA-256 fed its pieces in order while they come in any order: a piece past the next one
 * is kept (its parts, as views) until the hash reaches it, at most `keepAhead` of them; what was
 * not hashed on the way in is read back at the end.
 */
export class InOrderHash {
  private next = 0
  private readonly ahead = new Map<number, readonly Uint8Array[]>()

  constructor(
    private readonly h: Sha256,
    private readonly keepAhead: number,
  ) {}

  /** Pieces [0, hashed) are in the hash. */
  get hashed(): number {
    return this.next
  }

  /** Piece `i` is in (verified and stored); each piece is added once. */
  add(i: number, parts: readonly Uint8Array[]): void {
    if (i !== this.next) {
      if (i > this.next && this.ahead.size < this.keepAhead) this.ahead.set(i, parts)
      return
    }
    for (let p: readonly Uint8Array[] | undefined = parts; p; p = this.ahead.get(this.next)) {
      this.ahead.delete(this.next)
      for (const part of p) this.h.update(part)
      this.next++
    }
  }

  /** The hash of pieces [0, pieces): those not in it yet are read with `read`. */
  async digest(pieces: number, read: (i: number) => Promise<Uint8Array>): Promise<Uint8Array> {
    for (let i = this.next; i < pieces; i++) {
      const kept = this.ahead.get(i)
      if (kept) for (const part of kept) this.h.update(part)
      else this.h.update(await read(i))
    }
    this.ahead.clear()
    return this.h.digest()
  }

  /** Lets go of the pieces kept (the download ended otherwise). */
  clear(): void {
    this.ahead.clear()
  }
}
