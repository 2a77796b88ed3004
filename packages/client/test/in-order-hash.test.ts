import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InOrderHash, nobleSha256 } from '../src/media/hash.js'

const sha = (parts: Uint8Array[]) => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

describe('a file’s hash fed its pieces as they come', () => {
  it('equals the SHA-256 of the whole file whatever the order, reading back only what it could not keep', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 30 }).chain((pieces) =>
          fc.tuple(fc.constant(pieces), fc.shuffledSubarray(pieces.map((_, i) => i), { minLength: pieces.length, maxLength: pieces.length }), fc.nat(6), fc.nat(30)),
        ),
        async ([pieces, order, keepAhead, splitAt]) => {
          const h = new InOrderHash(nobleSha256(), keepAhead)
          for (const i of order) {
            const p = pieces[i]!
            const cut = Math.min(splitAt, p.length)
            // As the blocks came: a piece in parts.
            h.add(i, [p.subarray(0, cut), p.subarray(cut)])
          }
          const hashedOnTheWay = h.hashed
          const reads: number[] = []
          const digest = await h.digest(pieces.length, async (i) => {
            reads.push(i)
            return pieces[i]!
          })
          expect(digest).toEqual(sha(pieces))
          // Only pieces not hashed on the way in are read back, each once, and none while it could keep them all.
          expect(new Set(reads).size).toBe(reads.length)
          for (const i of reads) expect(i).toBeGreaterThanOrEqual(hashedOnTheWay)
          if (keepAhead >= pieces.length) expect(reads).toEqual([])
        },
      ),
      { numRuns: 300 },
    )
  })

  it('reads nothing back when each piece is stored in order, or just behind the next one', async () => {
    const pieces = Array.from({ length: 64 }, (_, i) => new Uint8Array(1000).fill(i))
    // Writes finishing out of order two by two: 1, 0, 3, 2, …
    const order = pieces.map((_, i) => (i % 2 === 0 ? i + 1 : i - 1))
    const h = new InOrderHash(nobleSha256(), 1)
    for (const i of order) h.add(i, [pieces[i]!])
    expect(h.hashed).toBe(64)
    let reads = 0
    expect(await h.digest(64, async (i) => (reads++, pieces[i]!))).toEqual(sha(pieces))
    expect(reads).toBe(0)
  })
})
