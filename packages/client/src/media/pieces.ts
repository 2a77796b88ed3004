import type { PlazaStorage } from '../storage/storage.js'
import { concatBytes } from './hash.js'

/** Where the bytes of one held file live. Reads and writes are whole pieces or parts of one. */
export interface PieceStore {
  /** Bytes [offset, offset + length), which lie in verified pieces. */
  read(offset: number, length: number): Promise<Uint8Array>
  /** Fills `views` in order with the bytes from `offset` on (no buffer of its own; files on disk). */
  readInto?(views: Uint8Array[], offset: number): Promise<void>
  /**
   * Keeps a verified piece (a receiver's store), given as its parts in order (the blocks it came
   * in); the store may keep them as they are, so nothing may change them afterwards.
   */
  write(index: number, offset: number, parts: readonly Uint8Array[]): Promise<void>
  /** Survives a reload (storage on disk or IndexedDB). */
  readonly durable: boolean
  /** Bytes of copies this store keeps (what the media cache counts; the app's own file or Blob is not a copy). */
  readonly copiedBytes: number
  /** Everything written so far is on disk (a file's store); the rest have nothing to do. */
  flush(): Promise<void>
  /** Lets go of open files (they are opened again when needed). */
  close(): Promise<void>
  /** Frees what it holds (the media was released or evicted). */
  drop(): Promise<void>
  /**
   * A download into a file: the bytes go to a side file, which becomes the file only when the
   * download is whole and checked. `resumed`: the side file was there already (an earlier
   * download that stopped): what of it matches the manifest need not be fetched again.
   */
  commit?(): Promise<void>
  resumed?: boolean
}

/** Bytes in memory: the app's Uint8Array (not copied: it must not change it) or a receiver's buffer. */
export class BytesPieces implements PieceStore {
  readonly durable = false
  constructor(
    private bytes: Uint8Array,
    private readonly owned: boolean,
  ) {}
  get copiedBytes(): number {
    return this.owned ? this.bytes.length : 0
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.bytes.subarray(offset, offset + length)
  }
  async write(_index: number, offset: number, parts: readonly Uint8Array[]): Promise<void> {
    for (const p of parts) {
      this.bytes.set(p, offset)
      offset += p.length
    }
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  async drop(): Promise<void> {
    this.bytes = new Uint8Array(0)
  }
  /** The whole buffer (a completed receiver's result). */
  get all(): Uint8Array {
    return this.bytes
  }
}

/** A receiver's pieces in memory, each kept in the parts it arrived in (not copied into one buffer). */
export class MemoryPieces implements PieceStore {
  readonly durable = false
  private readonly pieces = new Map<number, readonly Uint8Array[]>()
  private bytes = 0
  constructor(private readonly pieceSize: number) {}
  get copiedBytes(): number {
    return this.bytes
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    // Within one part: a view of it, no copy.
    const at = this.partAt(offset)
    if (at && at.from + length <= at.part.length) return at.part.subarray(at.from, at.from + length)
    const out = new Uint8Array(length)
    await this.readInto([out], offset)
    return out
  }
  /** Copies straight into `views` (consecutive ranges from `offset`): no buffer in between. */
  async readInto(views: Uint8Array[], offset: number): Promise<void> {
    let pos = offset
    for (const v of views) {
      for (let done = 0; done < v.length; ) {
        const at = this.partAt(pos + done)
        if (!at) throw new Error(`piece ${Math.floor((pos + done) / this.pieceSize)} is not held (or short)`)
        const n = Math.min(v.length - done, at.part.length - at.from)
        v.set(at.part.subarray(at.from, at.from + n), done)
        done += n
      }
      pos += v.length
    }
  }
  /** The part that holds byte `offset`, and where in it. */
  private partAt(offset: number): { part: Uint8Array; from: number } | null {
    const i = Math.floor(offset / this.pieceSize)
    let from = offset - i * this.pieceSize
    for (const part of this.pieces.get(i) ?? []) {
      if (from < part.length) return { part, from }
      from -= part.length
    }
    return null
  }
  async write(index: number, _offset: number, parts: readonly Uint8Array[]): Promise<void> {
    if (this.pieces.has(index)) return
    this.pieces.set(index, parts)
    for (const p of parts) this.bytes += p.length
  }
  /** Every piece's parts in order (the store is complete): a Blob is made of them without another copy. */
  parts(count: number): Uint8Array[] {
    const out: Uint8Array[] = []
    for (let i = 0; i < count; i++) out.push(...this.pieces.get(i)!)
    return out
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  async drop(): Promise<void> {
    this.pieces.clear()
    this.bytes = 0
  }
}

interface BlobLike {
  readonly size: number
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> }
}

/** A Blob or File of the app's, read on demand. */
export class BlobPieces implements PieceStore {
  readonly durable = false
  readonly copiedBytes = 0
  constructor(private readonly blob: BlobLike) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer())
  }
  async write(): Promise<void> {
    throw new Error('a Blob is read-only')
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  async drop(): Promise<void> {}
}

/** Pieces in the client's storage (IndexedDB in a browser): a download resumes after a reload, a sender serves after one. */
export class StoragePieces implements PieceStore {
  readonly durable: boolean
  private written = 0
  constructor(
    private readonly storage: PlazaStorage,
    private readonly prefix: string,
    private readonly pieceSize: number,
    private readonly pieces: number,
  ) {
    this.durable = storage.durable === true
  }
  get copiedBytes(): number {
    return this.written
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    const first = Math.floor(offset / this.pieceSize)
    const last = Math.floor((offset + length - 1) / this.pieceSize)
    const out = new Uint8Array(length)
    for (let i = first; i <= last; i++) {
      const piece = await this.storage.get(`${this.prefix}${i}`)
      if (!piece) throw new Error(`piece ${i} is gone from storage`)
      const start = i * this.pieceSize
      const from = Math.max(offset, start) - start
      const to = Math.min(offset + length, start + piece.length) - start
      out.set(piece.subarray(from, to), start + from - offset)
    }
    return out
  }
  async write(index: number, _offset: number, parts: readonly Uint8Array[]): Promise<void> {
    // Stored as one buffer of its own bytes only (a view would store the whole message it is part of).
    const bytes = concatBytes(parts)
    await this.storage.set(`${this.prefix}${index}`, bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice())
    this.written += bytes.length
  }
  /** Counts pieces a previous run stored (after a reload). */
  restored(bytes: number): void {
    this.written = bytes
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  async drop(): Promise<void> {
    for (let i = 0; i < this.pieces; i++) await this.storage.del(`${this.prefix}${i}`).catch(() => undefined)
    this.written = 0
  }
}

/** What the Node entry adds: files on disk (a browser has none). */
export interface MediaFiles {
  /** A file of the app's to send: read on demand, never copied. */
  openRead(path: string): Promise<{ size: number; store: PieceStore }>
  /** A file to download into (created at its full size; pieces written in place). */
  openWrite(path: string, size: number): Promise<PieceStore>
  /** A stream of the app's written to a temporary file, to be served from there. */
  spool(stream: AsyncIterable<Uint8Array>): Promise<string>
  /** Deletes a file this client made (a spooled stream). */
  remove(path: string): Promise<void>
  /** The same string for every way of naming one file (an absolute path). */
  key?(path: string): string
}
