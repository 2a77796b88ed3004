/**
 * Where a client keeps what must outlive it: the outbox of unacknowledged peer messages and
 * cached channel documents. One small interface; idb-keyval in browsers, memory or files in Node.
 */
export interface PlazaStorage {
  get(key: string): Promise<Uint8Array | undefined>
  set(key: string, value: Uint8Array): Promise<void>
  del(key: string): Promise<void>
}

/** Keeps nothing past the process (the default in Node). */
export class MemoryStorage implements PlazaStorage {
  private readonly data = new Map<string, Uint8Array>()
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.data.get(key)
  }
  async set(key: string, value: Uint8Array): Promise<void> {
    this.data.set(key, value)
  }
  async del(key: string): Promise<void> {
    this.data.delete(key)
  }
}

/**
 * Writes a key at most once per `delayMs`, always the latest value; `flush()` writes now.
 * Saving on every change would hammer IndexedDB during a burst of messages.
 */
export class DebouncedWriter {
  private pending = new Map<string, () => Uint8Array | null>()
  private timer: ReturnType<typeof setTimeout> | null = null
  private writing: Promise<void> = Promise.resolve()

  constructor(
    private readonly storage: PlazaStorage,
    private readonly delayMs = 50,
  ) {}

  /** Schedules a write of `produce()` (null deletes the key). */
  schedule(key: string, produce: () => Uint8Array | null): void {
    this.pending.set(key, produce)
    if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.delayMs)
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const batch = this.pending
    this.pending = new Map()
    this.writing = this.writing.then(async () => {
      for (const [key, produce] of batch) {
        const value = produce()
        try {
          if (value) await this.storage.set(key, value)
          else await this.storage.del(key)
        } catch {
          // Storage full or gone (private mode): the client keeps working without it.
        }
      }
    })
    await this.writing
  }
}
