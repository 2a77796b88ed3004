import { describe, expect, it } from 'vitest'
import type { Clock } from '@plaza/protocol'
import { Deadlines } from '../src/deadlines.js'

/** A clock whose timers run only when the test advances it. */
class ManualClock implements Clock {
  time = 1_000_000
  private timers = new Map<number, { at: number; fn: () => void }>()
  private next = 1

  now(): number {
    return this.time
  }
  setTimeout(fn: () => void, ms: number): number {
    const id = this.next++
    this.timers.set(id, { at: this.time + ms, fn })
    return id
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number)
  }
  setInterval(): number {
    throw new Error('not used')
  }
  clearInterval(): void {}

  get pending(): number {
    return this.timers.size
  }

  /** Moves time to `to`, running each timer due on the way at its own time. */
  advance(to: number): void {
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= to).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0]
      if (!due) break
      this.timers.delete(due[0])
      this.time = Math.max(this.time, due[1].at)
      due[1].fn()
    }
    this.time = to
  }
}

function setup() {
  const clock = new ManualClock()
  const fired: [string, number][] = []
  const deadlines = new Deadlines<string>(clock, (item) => fired.push([item, clock.now()]))
  return { clock, fired, deadlines }
}

describe('Deadlines', () => {
  it('fires each item at its time, in time order, on one timer', () => {
    const { clock, fired, deadlines } = setup()
    const t = clock.time
    deadlines.add(t + 300, 'c')
    deadlines.add(t + 100, 'a')
    deadlines.add(t + 200, 'b')
    expect(clock.pending).toBe(1)
    expect(deadlines.size).toBe(3)
    clock.advance(t + 150)
    expect(fired).toEqual([['a', t + 100]])
    clock.advance(t + 1000)
    expect(fired).toEqual([
      ['a', t + 100],
      ['b', t + 200],
      ['c', t + 300],
    ])
    expect(clock.pending).toBe(0)
    expect(deadlines.size).toBe(0)
  })

  it('fires items due at the same time in the order they were added', () => {
    const { clock, fired, deadlines } = setup()
    for (const name of ['1', '2', '3', '4', '5', '6']) deadlines.add(clock.time + 50, name)
    clock.advance(clock.time + 50)
    expect(fired.map(([n]) => n)).toEqual(['1', '2', '3', '4', '5', '6'])
  })

  it('never fires a cancelled item, and lets go of it', () => {
    const { clock, fired, deadlines } = setup()
    const t = clock.time
    const a = deadlines.add(t + 100, 'a')
    deadlines.add(t + 200, 'b')
    deadlines.cancel(a)
    deadlines.cancel(a)
    expect(a.item).toBeNull()
    expect(deadlines.size).toBe(1)
    clock.advance(t + 500)
    expect(fired).toEqual([['b', t + 200]])
  })

  it('fires at once what is already due, and what a firing adds if it is due', () => {
    const { clock, fired, deadlines } = setup()
    const t = clock.time
    const chained = new Deadlines<string>(clock, (item) => {
      fired.push([item, clock.now()])
      if (item === 'first') chained.add(t, 'second')
    })
    chained.add(t - 10, 'first')
    clock.advance(t)
    expect(fired).toEqual([
      ['first', t],
      ['second', t],
    ])
    deadlines.add(t + 5, 'x')
    clock.advance(t + 5)
    expect(fired.at(-1)).toEqual(['x', t + 5])
  })

  it('re-arms for an earlier deadline added later', () => {
    const { clock, fired, deadlines } = setup()
    const t = clock.time
    deadlines.add(t + 1000, 'late')
    deadlines.add(t + 10, 'early')
    expect(clock.pending).toBe(1)
    clock.advance(t + 10)
    expect(fired).toEqual([['early', t + 10]])
  })

  it('waits in steps for deadlines beyond what one timer holds', () => {
    const { clock, fired, deadlines } = setup()
    const t = clock.time
    const far = t + 40 * 86400_000
    deadlines.add(far, 'far')
    clock.advance(t + 30 * 86400_000)
    expect(fired).toEqual([])
    expect(clock.pending).toBe(1)
    clock.advance(far)
    expect(fired).toEqual([['far', far]])
  })

  it('drops cancelled deadlines once they are most of the heap', () => {
    const { clock, fired, deadlines } = setup()
    const t = clock.time
    const all = Array.from({ length: 300 }, (_, i) => deadlines.add(t + 1000 + i, `n${i}`))
    for (const d of all.slice(0, 250)) deadlines.cancel(d)
    expect(deadlines.size).toBe(50)
    clock.advance(t + 5000)
    expect(fired.map(([n]) => n)).toEqual(all.slice(250).map((_, i) => `n${250 + i}`))
  })

  it('clear forgets everything and stops the timer', () => {
    const { clock, fired, deadlines } = setup()
    deadlines.add(clock.time + 10, 'a')
    deadlines.clear()
    expect(clock.pending).toBe(0)
    clock.advance(clock.time + 100)
    expect(fired).toEqual([])
  })
})
