/**
 * Virtual time for the overlay simulation: one heap of timers, run in (time, insertion) order,
 * synchronously (the overlay's logic and the simulated crypto are synchronous, so no promise
 * turn is needed between events; that is what lets 10,000 members run in minutes).
 */
import type { Clock, TimerHandle } from '@plaza/protocol'

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
  private heap: Timer[] = []
  private seq = 0

  at(ms: number, fn: () => void, every = 0): Timer {
    const t: Timer = { at: this.now + Math.max(0, Math.ceil(ms)), seq: this.seq++, fn, every, cancelled: false }
    this.push(t)
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
    const h = this.heap
    while (h.length > 0 && h[0]!.at <= until) {
      const t = this.pop()
      if (t.cancelled) continue
      this.now = t.at
      if (t.every) {
        t.at += t.every
        t.seq = this.seq++
        this.push(t)
      }
      this.events++
      t.fn()
    }
    this.now = Math.max(this.now, until)
  }

  private push(t: Timer): void {
    const h = this.heap
    h.push(t)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  private pop(): Timer {
    const h = this.heap
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l]!, h[m]!)) m = l
        if (r < h.length && before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
