import { describe, expect, it } from 'vitest'
import type { OverlayAfter } from '@plaza/protocol'
import { AfterGate } from '../src/channels/after-gate.js'
import { manualClock } from './manual-clock.js'

function setup(waitMs = 10_000) {
  const { clock, advance } = manualClock()
  // The overlay's order per origin stream: the next seq it will deliver (absent: it does not get the stream).
  const next = new Map<string, number>()
  const got: string[] = []
  const gate = new AfterGate<string>(clock, waitMs, (origin, a) => {
    const n = next.get(`${origin}/${a.stream}`)
    return n === undefined ? null : a.seq < n
  }, (m) => got.push(m))
  const overlay = (origin: string, stream: string, seq: number) => {
    next.set(`${origin}/${stream}`, seq + 1)
    gate.overlayDelivered(origin, stream, seq, () => got.push(`${origin}:ov${seq}`))
  }
  return { gate, got, next, overlay, advance }
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

  it('delivers at once what names a message already delivered, or a stream this member does not get', () => {
    const { gate, got, next } = setup()
    next.set('a/s', 8)
    gate.admit('a', 'a:c1', after(7))
    gate.admit('x', 'x:c1', after(2))
    expect(got).toEqual(['a:c1', 'x:c1'])
  })

  it('gives the wait up after waitMs: the overlay message may never come', () => {
    const { gate, got, next, advance } = setup(10_000)
    next.set('a/s', 3)
    gate.admit('a', 'a:c1', after(3))
    advance(9_999)
    expect(got).toEqual([])
    gate.admit('a', 'a:c2', null)
    advance(1)
    expect(got).toEqual(['a:c1', 'a:c2'])
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
})
