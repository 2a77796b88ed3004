/** Files on disk for media in Node (the Node entry passes these to the client; browsers have none). */
import { createHash, randomUUID } from 'node:crypto'
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Sha256Factory } from './hash.js'
import type { MediaFiles, PieceStore } from './pieces.js'

export const nodeSha256: Sha256Factory = () => {
  const h = createHash('sha256')
  return {
    update: (b) => void h.update(b),
    digest: () => new Uint8Array(h.digest()),
  }
}

/** What is left of `views` after their first `n` bytes (a read or write that did part of them). */
function skipBytes(views: readonly Uint8Array[], n: number): Uint8Array[] {
  const next: Uint8Array[] = []
  for (const v of views) {
    if (n >= v.length) n -= v.length
    else {
      next.push(n > 0 ? v.subarray(n) : v)
      n = 0
    }
  }
  return next
}

/** A file read (the app's, to send) or written (a download) at offsets; opened on first use. */
class FilePieces implements PieceStore {
  readonly durable = true
  readonly copiedBytes = 0
  private handle: Promise<FileHandle> | null = null

  resumed = false

  constructor(
    public path: string,
    private readonly mode: 'r' | 'r+',
    /** Where the file goes once whole (a download); the bytes are written to `path` until then. */
    private finalPath: string | null = null,
  ) {}

  async commit(): Promise<void> {
    if (!this.finalPath) return
    await this.flush()
    await this.close()
    await rename(this.path, this.finalPath)
    // Served from where it is now (the side file is gone; a later download into the same path would make a new one).
    this.path = this.finalPath
    this.finalPath = null
  }

  private fh(): Promise<FileHandle> {
    this.handle ??= open(this.path, this.mode)
    return this.handle
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length)
    const fh = await this.fh()
    let done = 0
    while (done < length) {
      const { bytesRead } = await fh.read(out, done, length - done, offset + done)
      if (bytesRead === 0) throw new Error(`${this.path} is shorter than expected`)
      done += bytesRead
    }
    return out
  }

  async readInto(views: Uint8Array[], offset: number): Promise<void> {
    const fh = await this.fh()
    let rest = views.filter((v) => v.length > 0)
    let at = offset
    while (rest.length > 0) {
      const { bytesRead } = await fh.readv(rest, at)
      if (bytesRead === 0) throw new Error(`${this.path} is shorter than expected`)
      at += bytesRead
      rest = skipBytes(rest, bytesRead)
    }
  }

  async write(_index: number, offset: number, parts: readonly Uint8Array[]): Promise<void> {
    if (this.mode === 'r') throw new Error('read-only')
    const fh = await this.fh()
    let rest = parts
    for (let at = offset; rest.length > 0; ) {
      const n = (await fh.writev(rest as Uint8Array[], at)).bytesWritten
      at += n
      rest = skipBytes(rest, n)
    }
  }

  async flush(): Promise<void> {
    if (this.mode === 'r+' && this.handle) await (await this.handle).sync()
  }

  async close(): Promise<void> {
    const h = this.handle
    this.handle = null
    if (h) await (await h).close().catch(() => undefined)
  }

  /** The file stays: it is the app's (sent) or the app's destination (downloaded). */
  drop(): Promise<void> {
    return this.close()
  }
}

export const nodeMediaFiles: MediaFiles = {
  async openRead(path) {
    const s = await stat(path)
    if (!s.isFile()) throw new Error(`${path} is not a file`)
    return { size: s.size, store: new FilePieces(path, 'r') }
  },
  async openWrite(path, size) {
    // Into PATH.part, renamed to PATH once whole and checked: a file already at PATH is left alone
    // until then, and a download that stops leaves its side file to be resumed.
    const part = `${path}.part`
    // A directory at PATH could never be replaced by the file: refused before anything is made.
    if ((await stat(path).catch(() => null))?.isDirectory()) throw new Error(`${path} is a directory`)
    const before = await stat(part).catch(() => null)
    const fh = await open(part, 'a+')
    await fh.truncate(size)
    await fh.close()
    const store = new FilePieces(part, 'r+', path)
    store.resumed = before !== null && before.isFile() && before.size === size && size > 0
    return store
  },
  async spool(stream) {
    const path = join(tmpdir(), `plaza-media-${randomUUID()}`)
    const fh = await open(path, 'w')
    try {
      for await (const chunk of stream) await fh.write(chunk)
      await fh.sync()
    } catch (err) {
      await fh.close().catch(() => undefined)
      await unlink(path).catch(() => undefined)
      throw err
    }
    await fh.close()
    return path
  },
  async remove(path) {
    await unlink(path).catch(() => undefined)
  },
  key: (path) => resolve(path),
}
