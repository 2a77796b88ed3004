import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PlazaStorage } from './storage.js'

/** One file per key in a directory (Node). Writes go to a temporary file, then rename. */
export class FileStorage implements PlazaStorage {
  readonly durable = true
  private ready: Promise<unknown>
  constructor(private readonly dir: string) {
    this.ready = mkdir(dir, { recursive: true })
  }
  private path(key: string): string {
    return join(this.dir, encodeURIComponent(key))
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    await this.ready
    try {
      return new Uint8Array(await readFile(this.path(key)))
    } catch {
      return undefined
    }
  }
  async set(key: string, value: Uint8Array): Promise<void> {
    await this.ready
    const tmp = `${this.path(key)}.${process.pid}.tmp`
    await writeFile(tmp, value)
    await rename(tmp, this.path(key))
  }
  async del(key: string): Promise<void> {
    await this.ready
    await rm(this.path(key), { force: true })
  }
}
