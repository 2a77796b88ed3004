import type { Clock, TimerHandle } from '@plaza/protocol'

/** One deadline; `cancel` it through its Deadlines. */
export interface Deadline<T> {
  readonly at: number
  readonly seq: number
  item: T | null
}

/** Longest delay a Node timer takes (~24.8 days); later deadlines wait in steps. */
const MAX_DELAY = 2 ** 31 - 1

/**
 * Many deadlines on one clock timer (armed for the earliest), so that thousands of sessions do
 * not each hold timers. Due items are handed to `fire` in time order, ties in the order added.
 * Cancelled deadlines stay in the heap (holding nothing) until due or until they are the most.
 */
export class Deadlines<T> {
  private heap: Deadline<T>[] = []
  private seq = 0
  private cancelled = 0
  private timer: TimerHandle | null = null
  private armedAt = Infinity

  constructor(
    private readonly clock: Clock,
    private readonly fire: (item: T) => void,
  ) {}

  /** Live deadlines (not cancelled, not yet due). */
  get size(): number {
    return this.heap.length - this.cancelled
  }

  add(at: number, item: T): Deadline<T> {
    const d: Deadline<T> = { at, seq: this.seq++, item }
    this.push(d)
    if (at < this.armedAt) this.arm()
    return d
  }

  cancel(d: Deadline<T> | null): void {
    if (!d || d.item === null) return
    d.item = null
    this.cancelled++
    if (this.cancelled > 64 && this.cancelled * 2 > this.heap.length) this.compact()
  }

  /** Stops the timer and forgets every deadline. */
  clear(): void {
    this.clock.clearTimeout(this.timer)
    this.timer = null
    this.armedAt = Infinity
    for (const d of this.heap) d.item = null
    this.heap = []
    this.cancelled = 0
  }

  private run(): void {
    this.timer = null
    this.armedAt = Infinity
    const now = this.clock.now()
    while (this.heap.length && this.heap[0].at <= now) {
      const d = this.pop()
      const item = d.item
      if (item === null) {
        this.cancelled--
        continue
      }
      d.item = null
      this.fire(item)
    }
    this.arm()
  }

  private arm(): void {
    if (!this.heap.length) return
    const at = this.heap[0].at
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.armedAt = at
    const delay = Math.min(MAX_DELAY, Math.max(0, at - this.clock.now()))
    this.timer = this.clock.setTimeout(() => this.run(), delay, true)
  }

  private compact(): void {
    const live = this.heap.filter((d) => d.item !== null)
    this.heap = []
    this.cancelled = 0
    for (const d of live) this.push(d)
  }

  private before(a: Deadline<T>, b: Deadline<T>): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  private push(d: Deadline<T>): void {
    const h = this.heap
    h.push(d)
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1
      if (!this.before(h[i], h[parent])) break
      ;[h[i], h[parent]] = [h[parent], h[i]]
      i = parent
    }
  }

  private pop(): Deadline<T> {
    const h = this.heap
    const top = h[0]
    const last = h.pop()!
    if (h.length === 0) return top
    h[0] = last
    for (let i = 0; ; ) {
      const l = 2 * i + 1
      let m = i
      if (l < h.length && this.before(h[l], h[m])) m = l
      if (l + 1 < h.length && this.before(h[l + 1], h[m])) m = l + 1
      if (m === i) break
      ;[h[i], h[m]] = [h[m], h[i]]
      i = m
    }
    return top
  }
}
