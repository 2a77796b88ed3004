import { describe, expect, it } from 'vitest'
import { MemoryPieces } from '../src/media/pieces.js'

// A receiver that holds a file in memory serves it on (in a channel) by copying its pieces straight
// into the sender's frames (readInto): each view gets exactly its bytes, across piece boundaries.
describe('pieces in memory, kept in the parts they came in', () => {
  it('fills each view with its bytes, in order, across pieces; a piece not held is an error', async () => {
    const pieceSize = 1000
    const bytes = new Uint8Array(4500).map((_, i) => (i * 7 + 3) & 255)
    const store = new MemoryPieces(pieceSize)
    // Each piece kept in the parts it came in (blocks of 300 bytes, as a link delivers them).
    for (let i = 0; i * pieceSize < bytes.length; i++) {
      const piece = bytes.slice(i * pieceSize, (i + 1) * pieceSize)
      const parts: Uint8Array[] = []
      for (let at = 0; at < piece.length; at += 300) parts.push(piece.subarray(at, at + 300))
      await store.write(i, i * pieceSize, parts)
    }
    const buf = new Uint8Array(5000).fill(0xee)
    // Views of one buffer with gaps between them, one empty, one spanning three pieces, one ending the file.
    const views = [buf.subarray(5, 905), buf.subarray(910, 910), buf.subarray(920, 3020), buf.subarray(3100, 3100 + 1450)]
    await store.readInto(views, 50)
    let at = 50
    for (const v of views) {
      expect(Array.from(v)).toEqual(Array.from(bytes.subarray(at, at + v.length)))
      at += v.length
    }
    expect(at).toBe(bytes.length)
    expect(buf.subarray(0, 5).every((b) => b === 0xee)).toBe(true)
    expect(buf.subarray(905, 920).every((b) => b === 0xee)).toBe(true)
    expect(buf.subarray(3020, 3100).every((b) => b === 0xee)).toBe(true)
    expect(buf.subarray(4550).every((b) => b === 0xee)).toBe(true)
    await expect(store.readInto([new Uint8Array(10)], 4495)).rejects.toThrow(/not held|short/)
    // read(): within one part a view, across parts and pieces a copy; the same bytes either way.
    for (const [offset, length] of [[310, 200], [250, 100], [950, 400], [0, 4500]] as const) {
      expect(Array.from(await store.read(offset, length))).toEqual(Array.from(bytes.subarray(offset, offset + length)))
    }
    expect(Array.from(store.parts(5).flatMap((p) => Array.from(p)))).toEqual(Array.from(bytes))
    const sparse = new MemoryPieces(pieceSize)
    await sparse.write(0, 0, [bytes.slice(0, pieceSize)])
    await expect(sparse.readInto([new Uint8Array(1500)], 0)).rejects.toThrow(/piece 1 is not held/)
  })
})
