/**
 * Virtual time for the overlay simulation: one heap of timers, run in (time, insertion) order,
 * synchronously (the overlay's logic and the simulated crypto are synchronous, so no promise
 * turn is needed between events; that is what lets 10,000 members run in minutes).
 */
import type { Clock, TimerHandle } from '@plaza/protocol'
import { EventHeap } from '../event-heap.js'

interface Timer {
  at: number
  seq: number
  fn: () => void
  every: number
  cancelled: boolean
}

export class VirtualTime {
  now = 1_700_000_000_000
  events = 0
  private readonly heap = new EventHeap<Timer>()
  private seq = 0

  at(ms: number, fn: () => void, every = 0): Timer {
    const t: Timer = { at: this.now + Math.max(0, Math.ceil(ms)), seq: this.seq++, fn, every, cancelled: false }
    this.heap.push(t)
    return t
  }

  /** A Clock whose timers stop for good once `alive()` is false (a member that left). */
  clock(alive: () => boolean): Clock {
    const guard = (fn: () => void) => () => {
      if (alive()) fn()
    }
    return {
      now: () => this.now,
      setTimeout: (fn, ms) => this.at(ms, guard(fn)),
      clearTimeout: (h) => this.cancel(h),
      setInterval: (fn, ms) => this.at(Math.max(1, ms), guard(fn), Math.max(1, Math.ceil(ms))),
      clearInterval: (h) => this.cancel(h),
    }
  }

  private cancel(h: TimerHandle | null | undefined): void {
    if (h && typeof h === 'object' && 'cancelled' in h) (h as Timer).cancelled = true
  }

  runUntil(until: number): void {
    while (this.heap.size > 0 && this.heap.peek()!.at <= until) {
      const t = this.heap.pop()
      if (t.cancelled) continue
      this.now = t.at
      if (t.every) {
        t.at += t.every
        t.seq = this.seq++
        this.heap.push(t)
      }
      this.events++
      t.fn()
    }
    this.now = Math.max(this.now, until)
  }
}
