import { pieceCount, type MediaInfo } from '@plaza/protocol'
import type { PieceStore } from './pieces.js'

/** Which pieces of a file are held and verified. */
export class PieceSet {
  readonly bits: Uint8Array
  count = 0
  constructor(readonly total: number, bits?: Uint8Array) {
    this.bits = new Uint8Array(Math.ceil(total / 8))
    if (bits) {
      this.bits.set(bits.subarray(0, this.bits.length))
      for (let i = 0; i < total; i++) if (this.has(i)) this.count++
    }
  }
  static full(total: number): PieceSet {
    const s = new PieceSet(total)
    for (let i = 0; i < total; i++) s.add(i)
    return s
  }
  has(i: number): boolean {
    return (this.bits[i >> 3] & (0x80 >> (i & 7))) !== 0
  }
  add(i: number): void {
    if (this.has(i)) return
    this.bits[i >> 3] |= 0x80 >> (i & 7)
    this.count++
  }
  get complete(): boolean {
    return this.count === this.total
  }
}

/** A file this client holds (sent or downloaded, whole or in part) and may serve to others. */
export class HeldMedia {
  readonly pieces: number
  readonly have: PieceSet
  /** Piece hashes (32 bytes each); null until a receiver has fetched and checked them. */
  manifest: Uint8Array | null
  pinned = false
  lastUsed: number
  /** The app released it: served no more. */
  released = false

  constructor(
    readonly info: MediaInfo,
    manifest: Uint8Array | null,
    readonly store: PieceStore,
    have: PieceSet | null,
    now: number,
  ) {
    this.pieces = pieceCount(info.size, info.pieceSize)
    this.have = have ?? new PieceSet(this.pieces)
    this.manifest = manifest
    this.lastUsed = now
  }

  get complete(): boolean {
    return this.have.complete
  }

  pieceLength(i: number): number {
    return Math.min(this.info.pieceSize, this.info.size - i * this.info.pieceSize)
  }

  pieceHash(i: number): Uint8Array {
    return this.manifest!.subarray(i * 32, i * 32 + 32)
  }

  /** The bytes [offset, offset + length) lie in pieces held. */
  holds(offset: number, length: number): boolean {
    if (length <= 0 || offset + length > this.info.size) return false
    const first = Math.floor(offset / this.info.pieceSize)
    const last = Math.floor((offset + length - 1) / this.info.pieceSize)
    for (let i = first; i <= last; i++) if (!this.have.has(i)) return false
    return true
  }
}

/**
 * The files held, bounded by the bytes of copies kept (the app's own files and Blobs cost
 * nothing): past the bound the least recently used complete, unpinned ones go.
 */
export class MediaCache {
  private readonly held = new Map<string, HeldMedia>()

  constructor(private readonly maxCopiedBytes: number) {}

  get(id: string): HeldMedia | undefined {
    const h = this.held.get(id)
    return h && !h.released ? h : undefined
  }

  add(h: HeldMedia): void {
    this.held.set(h.info.mediaId, h)
  }

  /** Forgets everything without touching storage. */
  clear(): void {
    this.held.clear()
  }

  values(): IterableIterator<HeldMedia> {
    return this.held.values()
  }

  /** Forgets it and frees its copies. */
  async remove(id: string): Promise<void> {
    const h = this.held.get(id)
    if (!h) return
    h.released = true
    this.held.delete(id)
    await h.store.drop().catch(() => undefined)
  }

  copiedBytes(): number {
    let n = 0
    for (const h of this.held.values()) n += h.store.copiedBytes
    return n
  }

  /** Room for `bytes` more copies: evicts what may go; false when even that is not enough. */
  async makeRoom(bytes: number, busy: (id: string) => boolean): Promise<boolean> {
    let used = this.copiedBytes()
    if (used + bytes <= this.maxCopiedBytes) return true
    const victims = [...this.held.values()]
      .filter((h) => !h.pinned && h.complete && h.store.copiedBytes > 0 && !busy(h.info.mediaId))
      .sort((a, b) => a.lastUsed - b.lastUsed)
    for (const v of victims) {
      if (used + bytes <= this.maxCopiedBytes) break
      used -= v.store.copiedBytes
      await this.remove(v.info.mediaId)
    }
    return used + bytes <= this.maxCopiedBytes
  }
}
