import { describe, expect, it } from 'vitest'
import type { OverlayAfter } from '@plaza/protocol'
import { AfterGate } from '../src/channels/after-gate.js'
import { manualClock } from './manual-clock.js'

function setup(waitMs = 10_000) {
  const { clock, advance } = manualClock()
  // The overlay's order per origin stream: the next seq it will deliver (absent: it does not get the stream).
  const next = new Map<string, number>()
  const got: string[] = []
  const skips: string[] = []
  const wants: string[] = []
  // What the overlay delivers when told to skip through a seq (messages that waited behind a gap).
  const onSkip = new Map<string, number[]>()
  const gate = new AfterGate<string>(
    clock,
    waitMs,
    (origin, a) => {
      const n = next.get(`${origin}/${a.stream}`)
      return n === undefined ? null : a.seq < n
    },
    (m) => got.push(m),
    (origin, a) => {
      skips.push(`${origin}/${a.stream}:${a.seq}`)
      const waiting = onSkip.get(origin) ?? []
      next.set(`${origin}/${a.stream}`, Math.max(a.seq, ...waiting) + 1)
      for (const seq of waiting) gate.overlayDelivered(origin, a.stream, seq, () => got.push(`${origin}:ov${seq}`))
    },
    (origin, a) => wants.push(`${origin}/${a.stream}:${a.seq}`),
  )
  const overlay = (origin: string, stream: string, seq: number) => {
    next.set(`${origin}/${stream}`, seq + 1)
    gate.overlayDelivered(origin, stream, seq, () => got.push(`${origin}:ov${seq}`))
  }
  return { gate, got, next, overlay, advance, skips, onSkip, wants }
}

const after = (seq: number): OverlayAfter => ({ stream: 's', seq })

describe('copies behind the overlay message they follow', () => {
  it('holds a copy (and what follows it from that member) until the overlay delivers the message it names', () => {
    const { gate, got, next, overlay } = setup()
    next.set('a/s', 3) // a's overlay messages 1 and 2 delivered here; 3 is on its way
    gate.admit('a', 'a:c1', after(3))
    gate.admit('a', 'a:c2', after(3))
    gate.admit('b', 'b:c1', null) // another member's are not held
    expect(got).toEqual(['b:c1'])
    overlay('a', 's', 3)
    expect(got).toEqual(['b:c1', 'a:ov3', 'a:c1', 'a:c2'])
    expect(gate.heldCount).toBe(0)
  })

  it('delivers at once what names a message already delivered, or a stream this member does not get — and has the overlay skip the latter from now', () => {
    const { gate, got, next, skips } = setup()
    next.set('a/s', 8)
    gate.admit('a', 'a:c1', after(7))
    gate.admit('x', 'x:c1', after(2))
    expect(got).toEqual(['a:c1', 'x:c1'])
    // Had x's message 2 come later through an overlay this member started meanwhile, it would follow x:c1.
    expect(skips).toEqual(['x/s:2'])
  })

  it('gives the wait up after waitMs (the overlay message may never come), and has the overlay skip through it, so a late copy of it is dropped there', () => {
    const { gate, got, next, advance, skips } = setup(10_000)
    next.set('a/s', 3)
    gate.admit('a', 'a:c1', after(3))
    advance(9_999)
    expect(got).toEqual([])
    gate.admit('a', 'a:c2', null)
    advance(1)
    expect(skips).toEqual(['a/s:3'])
    expect(got).toEqual(['a:c1', 'a:c2'])
  })

  it('on giving the wait up, delivers first what the overlay had waiting up to the named message, then the copies, then later overlay messages', () => {
    const { gate, got, next, advance, onSkip } = setup(10_000)
    next.set('a/s', 2)
    onSkip.set('a', [3, 4, 6]) // 2 is lost; 3 waited behind it; 4 is the one named; 6 came later, after the copies
    gate.admit('a', 'a:c1', after(4))
    gate.admit('a', 'a:c2', after(4))
    advance(10_000)
    expect(got).toEqual(['a:ov3', 'a:ov4', 'a:c1', 'a:c2', 'a:ov6'])
    expect(gate.heldCount).toBe(0)
  })

  it('keeps a held copy’s deadline while earlier overlay messages of that member come (they do not restart its wait)', () => {
    const { gate, got, next, overlay, advance } = setup(10_000)
    next.set('a/s', 2)
    gate.admit('a', 'a:c1', after(3))
    advance(6_000)
    overlay('a', 's', 2) // 3 is still missing
    advance(3_999)
    expect(got).toEqual(['a:ov2'])
    advance(1)
    expect(got).toEqual(['a:ov2', 'a:c1'])
  })

  it('lets held copies go before a later overlay message of the same stream (the sender came back to the overlay)', () => {
    const { gate, got, next, overlay } = setup()
    next.set('a/s', 3)
    gate.admit('a', 'a:c1', after(3))
    // 3 was skipped by the overlay: 4, sent after the copies, is delivered next.
    overlay('a', 's', 4)
    expect(got).toEqual(['a:c1', 'a:ov4'])
  })

  it('lets copies go right after the message they name when the overlay hands over several at once (it counts them all passed before the first)', () => {
    const { gate, got, next } = setup()
    next.set('a/s', 3)
    gate.admit('a', 'a:c1', after(3))
    gate.admit('a', 'a:c2', after(4))
    next.set('a/s', 6) // 3, 4 and 5 filled a gap together
    for (const seq of [3, 4, 5]) gate.overlayDelivered('a', 's', seq, () => got.push(`a:ov${seq}`))
    expect(got).toEqual(['a:ov3', 'a:c1', 'a:ov4', 'a:c2', 'a:ov5'])
  })

  it('says which messages it holds, and tells each one’s `reached` once the app has it (it is acknowledged then)', () => {
    const { gate, got, next, overlay } = setup()
    next.set('a/s', 3)
    const reached: string[] = []
    expect(gate.admit('a', 'a:c0', after(2), () => reached.push('c0'))).toBe(false)
    expect(gate.admit('a', 'a:c1', after(3), () => reached.push('c1'))).toBe(true)
    expect(gate.admit('a', 'a:c2', null, () => reached.push('c2'))).toBe(true)
    expect(reached).toEqual([])
    overlay('a', 's', 3)
    expect(got).toEqual(['a:c0', 'a:ov3', 'a:c1', 'a:c2'])
    expect(reached).toEqual(['c1', 'c2'])
    gate.admit('a', 'a:c3', after(9), () => reached.push('c3'))
    gate.flush(() => undefined)
    expect(reached).toEqual(['c1', 'c2', 'c3'])
  })

  it('hands over at once what it holds when the channel is left (each copy was acknowledged when it came), and nothing later', () => {
    const { gate, got, next, advance } = setup()
    next.set('a/s', 3)
    gate.admit('a', 'a:c1', after(3))
    gate.admit('a', 'a:c2', null)
    const flushed: string[] = []
    gate.flush((m) => flushed.push(m))
    advance(20_000)
    expect(flushed).toEqual(['a:c1', 'a:c2'])
    expect(got).toEqual([])
    expect(gate.heldCount).toBe(0)
  })

  it('asks the overlay for the message a held copy waits for, once per front (its sender may have gone on with copies: no later overlay message shows the gap)', () => {
    const { gate, next, overlay, wants } = setup()
    next.set('a/s', 1)
    gate.admit('a', 'c1', after(2))
    gate.admit('a', 'c2', after(2))
    expect(wants).toEqual(['a/s:2'])
    gate.admit('a', 'c3', after(4))
    overlay('a', 's', 1)
    overlay('a', 's', 2) // c1, c2 go; c3 now waits for 4
    expect(wants).toEqual(['a/s:2', 'a/s:4'])
  })
})
