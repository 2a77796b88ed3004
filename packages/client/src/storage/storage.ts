import type { Clock, TimerHandle } from '@plaza/protocol'

/**
 * Where a client keeps what must outlive it: the outbox of unacknowledged peer messages and
 * cached channel documents. One small interface; idb-keyval in browsers, memory or files in Node.
 */
export interface PlazaStorage {
  /**
   * True when what is written outlives the process (IndexedDB, files). Only then does the client
   * save its outbox and inbox, and only then does it hold a message's acknowledgement until its
   * record of the message is saved (exactly once across a reload).
   */
  readonly durable?: boolean
  get(key: string): Promise<Uint8Array | undefined>
  set(key: string, value: Uint8Array): Promise<void>
  del(key: string): Promise<void>
}

/** Keeps nothing past the process (the default in Node). */
export class MemoryStorage implements PlazaStorage {
  readonly durable = false
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
  private timer: TimerHandle | null = null
  private timerDue = 0
  private writing: Promise<void> = Promise.resolve()
  /** Batches chained and not written yet. */
  private batches = 0

  constructor(
    private readonly storage: PlazaStorage,
    private readonly clock: Clock,
    private readonly delayMs = 50,
  ) {}

  /** Schedules a write of `produce()` (null deletes the key); `soon` writes at the next turn. */
  schedule(key: string, produce: () => Uint8Array | null, soon = false): void {
    this.pending.set(key, produce)
    const due = this.clock.now() + (soon ? 0 : this.delayMs)
    if (this.timer && this.timerDue <= due) return
    this.clock.clearTimeout(this.timer)
    this.timerDue = due
    this.timer = this.clock.setTimeout(() => void this.flush(), soon ? 0 : this.delayMs)
  }

  /** Writes everything scheduled; resolves once it is written (and what was written before). */
  async flush(): Promise<void> {
    this.clock.clearTimeout(this.timer)
    this.timer = null
    const batch = this.pending
    this.pending = new Map()
    if (batch.size) {
      this.batches++
      this.writing = this.writing.then(() => this.write(batch)).finally(() => this.batches--)
    }
    await this.writing
  }

  /** Nothing scheduled and nothing being written. */
  get idle(): boolean {
    return this.pending.size === 0 && this.batches === 0
  }

  private async write(batch: Map<string, () => Uint8Array | null>): Promise<void> {
    for (const [key, produce] of batch) {
      const value = produce()
      try {
        if (value) await this.storage.set(key, value)
        else await this.storage.del(key)
      } catch {
        // Storage full or gone (private mode): the client keeps working without it.
      }
    }
  }
}
