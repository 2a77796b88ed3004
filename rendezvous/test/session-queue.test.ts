import { describe, expect, it } from 'vitest'
import type { Connection } from '../src/connection.js'
import { Session, type SessionOwner } from '../src/session.js'

const owner = (frames = 100, bytes = 1 << 20): SessionOwner => ({
  limits: {} as SessionOwner['limits'],
  queueLimit: { frames, bytes },
  kick: () => {},
  disposed: () => {},
})

function socket(): Connection & { sent: Uint8Array[] } {
  const sent: Uint8Array[] = []
  return { open: true, bufferedAmount: 0, remoteAddress: '127.0.0.1', sent, send: (f) => void sent.push(f), close: () => {}, terminate: () => {} }
}

describe("a detached session's queue", () => {
  it('keeps a copy of a frame that shares its memory (a pooled Buffer), not a view that pins the whole pool slab', () => {
    const s = new Session('s1', 'app', 'u1', Date.now() + 60_000, Date.now(), owner())
    const pooled = Buffer.allocUnsafe(10).fill(7)
    const own = new Uint8Array(10).fill(9)
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength) // the premise: Node's pool
    s.send(pooled)
    s.send(own)
    pooled.fill(0) // the pool's next user overwrites it
    const c = socket()
    s.socket = c
    s.ready = true
    s.flush()
    expect(c.sent.map((f) => [...f])).toEqual([Array(10).fill(7), Array(10).fill(9)])
    expect(c.sent[0]!.buffer.byteLength).toBe(10)
    expect(c.sent[1]).toBe(own) // a frame with memory of its own is queued as it is
  })

  it('still drops past its bound, counted in the frames’ own bytes, and marks the session', () => {
    const s = new Session('s2', 'app', 'u2', Date.now() + 60_000, Date.now(), owner(100, 25))
    for (let i = 0; i < 3; i++) s.send(Buffer.allocUnsafe(10))
    expect(s.lostFrames).toBe(true)
    const c = socket()
    s.socket = c
    s.ready = true
    s.flush()
    expect(c.sent.length).toBe(2)
  })
})
