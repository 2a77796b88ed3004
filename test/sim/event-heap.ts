/** A binary min-heap of timed events, in (time, insertion) order: the simulations' run queue. */
export interface Timed {
  at: number
  seq: number
}

export class EventHeap<T extends Timed> {
  private readonly h: T[] = []

  get size(): number {
    return this.h.length
  }

  /** The earliest event, left in place. */
  peek(): T | undefined {
    return this.h[0]
  }

  push(t: T): void {
    const h = this.h
    h.push(t)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  /** Takes the earliest event out (the heap must not be empty). */
  pop(): T {
    const h = this.h
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

function before(a: Timed, b: Timed): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
