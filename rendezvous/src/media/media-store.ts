/**
 * The node's media store: a directory of files named by their media id, per app, each with its
 * manifest and a small JSON of what is known of it. Several nodes may share the directory (a
 * network filesystem): every file appears by rename, whole, so no node ever reads half of one.
 *
 *   <dir>/tmp/                         uploads under way and metadata being written
 *   <dir>/apps/<app>/<id[0..2]>/<id>.data       the bytes
 *   <dir>/apps/<app>/<id[0..2]>/<id>.manifest   the piece hashes (32 bytes a piece)
 *   <dir>/apps/<app>/<id[0..2]>/<id>.json       MediaMeta; written last: a file is stored once it is there
 *
 * `<app>` is the app id in base64url. Each write is fsynced, and so is the directory of each rename.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { AppUsage, type MediaMeta } from './media-logic.js'

/** A file past its expiry is refused at once but removed only this much later: a node extending it just then is not undone. */
export const SWEEP_GRACE_MS = 5_000
/** Bytes (data, manifest) without their metadata this old are left from a crash mid-commit. */
const ORPHAN_AGE_MS = 10 * 60_000

export interface MediaStoreOptions {
  dir: string
  now(): number
  /** Other nodes write to the same directory: temp files of theirs are left alone at start. */
  shared: boolean
  /** Temp files untouched this long belong to no upload under way. */
  staleTempMs: number
  log: Logger
}

export interface MediaPaths {
  data: string
  manifest: string
  meta: string
}

const appKey = (appId: string) => Buffer.from(appId, 'utf8').toString('base64url')

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

function isMeta(v: unknown): v is MediaMeta {
  if (typeof v !== 'object' || v === null) return false
  const m = v as Record<string, unknown>
  return (
    typeof m.mediaId === 'string' &&
    typeof m.appId === 'string' &&
    typeof m.uploader === 'string' &&
    typeof m.sha256 === 'string' &&
    [m.size, m.pieceSize, m.storedAt, m.expiresAt].every((n) => typeof n === 'number' && Number.isSafeInteger(n))
  )
}

const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT'

export class MediaStore {
  readonly usage = new AppUsage()
  readonly tmpDir: string
  private readonly appsDir: string

  constructor(private readonly opts: MediaStoreOptions) {
    this.tmpDir = join(opts.dir, 'tmp')
    this.appsDir = join(opts.dir, 'apps')
  }

  /** Makes the directories, removes what uploads cut short by a crash left, and counts each app's bytes. */
  async open(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true })
    await mkdir(this.appsDir, { recursive: true })
    const removed = await this.cleanTemp(!this.opts.shared)
    if (removed) this.opts.log.info({ removed }, 'media: partial uploads removed')
    await this.sweep()
  }

  paths(appId: string, mediaId: string): MediaPaths {
    const base = join(this.appsDir, appKey(appId), mediaId.slice(0, 2), mediaId)
    return { data: `${base}.data`, manifest: `${base}.manifest`, meta: `${base}.json` }
  }

  /** The file's metadata if it is stored for that app and not expired; null otherwise. */
  async get(appId: string, mediaId: string): Promise<MediaMeta | null> {
    const meta = await this.readMeta(this.paths(appId, mediaId).meta)
    if (!meta || meta.appId !== appId || meta.mediaId !== mediaId) return null
    return meta.expiresAt > this.opts.now() ? meta : null
  }

  /** A new temp file for an upload (opened for writing). */
  async tempFile(): Promise<{ path: string; handle: FileHandle }> {
    const path = join(this.tmpDir, `${randomBytes(12).toString('base64url')}.part`)
    return { path, handle: await open(path, 'wx', 0o600) }
  }

  async removeTemp(path: string): Promise<void> {
    await rm(path, { force: true })
  }

  /**
   * Stores a verified upload: the bytes (fsynced, renamed into place), the manifest, then the
   * metadata; each rename's directory fsynced. Resolves once all of it is durable.
   */
  async commit(temp: { path: string; handle: FileHandle }, meta: MediaMeta, manifest: Uint8Array): Promise<void> {
    await temp.handle.sync()
    await temp.handle.close()
    const p = this.paths(meta.appId, meta.mediaId)
    const dir = join(p.data, '..')
    await mkdir(dir, { recursive: true })
    const previous = await this.readMeta(p.meta)
    await this.writeDurably(p.manifest, manifest, false)
    await rename(temp.path, p.data)
    await this.writeMeta(meta)
    // An expired copy it replaced was still counted.
    this.usage.addStored(meta.appId, meta.size - (previous?.size ?? 0))
  }

  /** Makes a stored file last at least until `until`; its metadata, or null if it is not stored (or expired). */
  async extend(appId: string, mediaId: string, until: number): Promise<MediaMeta | null> {
    const meta = await this.get(appId, mediaId)
    if (!meta) return null
    if (meta.expiresAt >= until) return meta
    const next = { ...meta, expiresAt: until }
    await this.writeMeta(next)
    return next
  }

  async readManifest(appId: string, mediaId: string): Promise<Buffer> {
    return readFile(this.paths(appId, mediaId).manifest)
  }

  /**
   * Removes files past their expiry (and the grace), bytes left without metadata, stale temp
   * files; recounts each app's stored bytes. Returns how many files went.
   */
  async sweep(): Promise<number> {
    const now = this.opts.now()
    const totals = new Map<string, number>()
    let removed = 0
    for (const app of await this.list(this.appsDir)) {
      const appDir = join(this.appsDir, app)
      for (const shard of await this.list(appDir)) {
        const shardDir = join(appDir, shard)
        const names = await this.list(shardDir)
        const metas = new Set(names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)))
        for (const id of metas) {
          const file = join(shardDir, `${id}.json`)
          const meta = await this.readMeta(file)
          if (meta && meta.expiresAt + SWEEP_GRACE_MS > now) {
            totals.set(meta.appId, (totals.get(meta.appId) ?? 0) + meta.size)
            continue
          }
          // Metadata first: without it the file is gone for every node, whatever is left after a crash.
          await rm(file, { force: true })
          await rm(join(shardDir, `${id}.data`), { force: true })
          await rm(join(shardDir, `${id}.manifest`), { force: true })
          removed++
        }
        for (const name of names) {
          const id = name.replace(/\.(data|manifest)$/, '')
          if (id === name || metas.has(id)) continue
          const info = await stat(join(shardDir, name)).catch(() => null)
          if (info && now - info.mtimeMs > ORPHAN_AGE_MS) await rm(join(shardDir, name), { force: true })
        }
      }
    }
    this.usage.reset(totals)
    await this.cleanTemp(false)
    return removed
  }

  /** Temp files no upload is writing: all of them (at the start of a node that shares its directory with none), or the stale ones. */
  private async cleanTemp(all: boolean): Promise<number> {
    let n = 0
    const now = this.opts.now()
    for (const name of await this.list(this.tmpDir)) {
      const file = join(this.tmpDir, name)
      const info = await stat(file).catch(() => null)
      if (!info) continue
      if (all || now - info.mtimeMs > this.opts.staleTempMs) {
        await rm(file, { force: true })
        n++
      }
    }
    return n
  }

  private async list(dir: string): Promise<string[]> {
    try {
      return await readdir(dir)
    } catch (err) {
      if (missing(err)) return []
      throw err
    }
  }

  private async readMeta(file: string): Promise<MediaMeta | null> {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      if (missing(err)) return null
      throw err
    }
    try {
      const v: unknown = JSON.parse(text)
      return isMeta(v) ? v : null
    } catch {
      this.opts.log.warn({ file }, 'media: unreadable metadata')
      return null
    }
  }

  private writeMeta(meta: MediaMeta): Promise<void> {
    return this.writeDurably(this.paths(meta.appId, meta.mediaId).meta, Buffer.from(JSON.stringify(meta)), true)
  }

  /** Writes `bytes` to a temp file, fsyncs it, renames it to `file`; with `syncDir`, fsyncs the directory after. */
  private async writeDurably(file: string, bytes: Uint8Array, dirSync: boolean): Promise<void> {
    const temp = join(this.tmpDir, `${randomBytes(12).toString('base64url')}.tmp`)
    const fh = await open(temp, 'wx', 0o600)
    try {
      await fh.writeFile(bytes)
      await fh.sync()
    } catch (err) {
      await fh.close().catch(() => undefined)
      await unlink(temp).catch(() => undefined)
      throw err
    }
    await fh.close()
    await rename(temp, file)
    if (dirSync) await syncDir(join(file, '..'))
  }
}
