import { describe, expect, it } from 'vitest'
import { Decoder, Encoder, setByteAllocator, utf8Length } from '../src/index.js'
import { FrameType, decodeFrame, encodeFrame } from '../src/index.js'

describe('utf8Length', () => {
  it('counts what TextEncoder writes, lone surrogates included (U+FFFD, 3 bytes)', () => {
    const cases = ['', 'abc', 'héllo', '€', '😀', 'a😀b', '\ud800', '\udc00', '\ud800a', 'a\ud800', '\ud800\ud800', '\udc00\ud800', '\ud83d\ude00\ud83d', 'x'.repeat(100)]
    for (const s of cases) expect([JSON.stringify(s), utf8Length(s)]).toEqual([JSON.stringify(s), new TextEncoder().encode(s).length])
  })
})

describe('Encoder and Decoder strings', () => {
  const cases = ['', 'a', 'x'.repeat(63), 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(5000), 'héllo', 'abc€', '€'.repeat(30), '😀', 'a'.repeat(40) + '😀', '\ud800', 'a\udc00b', '\u007f\u0080']

  it('write what TextEncoder writes, after the length, and read it back', () => {
    for (const s of cases) {
      const e = new Encoder(8)
      e.string(s)
      const utf8 = new TextEncoder().encode(s)
      const d = new Decoder(e.finish())
      expect(d.varuint()).toBe(utf8.length)
      expect(d.remaining).toBe(utf8.length)
      const e2 = new Encoder()
      e2.string(s)
      expect(new Decoder(e2.finish()).string(1 << 20)).toBe(new TextDecoder().decode(utf8))
    }
  })

  it('refuses invalid UTF-8 and over-long strings, whether short or long', () => {
    for (const bad of [[2, 0x61, 0xff], [3, 0xe2, 0x82, 0x61], [1, 0x80]]) {
      expect(() => new Decoder(new Uint8Array(bad)).string(100)).toThrow(/utf-8/)
    }
    const e = new Encoder()
    e.string('x'.repeat(10))
    expect(() => new Decoder(e.finish()).string(9)).toThrow(/exceeds/)
    expect(() => new Decoder(new Uint8Array([5, 0x61])).string(100)).toThrow(/unexpected end/)
  })

  it('keeps encoders that are alive at once apart (they share a spare buffer one at a time)', () => {
    const outer = new Encoder()
    outer.string('outer-1')
    const inner = new Encoder()
    inner.string('inner')
    const innerBytes = inner.finish()
    const third = new Encoder()
    third.string('third, which takes the spare back')
    outer.bytes(innerBytes)
    outer.string('outer-2')
    const thirdBytes = third.finish()
    const d = new Decoder(outer.finish())
    expect([d.string(100), new Decoder(d.bytes(100)).string(100), d.string(100)]).toEqual(['outer-1', 'inner', 'outer-2'])
    expect(new Decoder(thirdBytes).string(100)).toBe('third, which takes the spare back')
    // A finished encoder's bytes stay as they were while the next one writes.
    const first = new Encoder()
    first.string('first')
    const firstBytes = first.finish()
    const next = new Encoder()
    next.string('second!')
    next.finish()
    expect(new Decoder(firstBytes).string(100)).toBe('first')
  })
})

describe('setByteAllocator', () => {
  it('puts finished frames where the allocator says (a shared pool), each whole and apart from the others', () => {
    const pool = new Uint8Array(4096)
    let used = 0
    setByteAllocator((n) => {
      const out = pool.subarray(used, used + n)
      used += n
      return out
    })
    try {
      const frames = Array.from({ length: 20 }, (_, i) => encodeFrame({ type: FrameType.RELAY_FROM, from: `user-${i}`, serverTs: 1_700_000_000_000 + i, payload: new Uint8Array(i * 7).fill(i) }))
      expect(used).toBe(frames.reduce((n, f) => n + f.length, 0))
      frames.forEach((f, i) => {
        expect(f.buffer).toBe(pool.buffer)
        const d = decodeFrame(f)
        expect(d).toMatchObject({ type: FrameType.RELAY_FROM, from: `user-${i}`, serverTs: 1_700_000_000_000 + i })
        expect([...(d as { payload: Uint8Array }).payload]).toEqual(Array(i * 7).fill(i))
      })
    } finally {
      setByteAllocator((n) => new Uint8Array(n))
    }
    const f = encodeFrame({ type: FrameType.PING, ts: 5 })
    expect(f.buffer.byteLength).toBe(f.length)
  })
})
