import { describe, expect, it } from 'vitest'
import { MediaType, type MediaInfo } from '@plaza/protocol'
import { HeldMedia, MediaCache, PieceSet } from '../src/media/held.js'
import { BytesPieces } from '../src/media/pieces.js'
import { choosePieceSize } from '../src/media/media.js'

const KiB = 1024
function held(id: string, size: number, lastUsed: number, complete = true): HeldMedia {
  const info: MediaInfo = {
    mediaId: id.padEnd(43, 'x'),
    size,
    pieceSize: 256 * KiB,
    sha256: new Uint8Array(32),
    mediaType: MediaType.FILE,
    fileName: id,
    mimeType: '',
    width: 0,
    height: 0,
    thumbnail: new Uint8Array(0),
    manifest: new Uint8Array(0),
  }
  const pieces = Math.ceil(size / info.pieceSize)
  return new HeldMedia(info, new Uint8Array(pieces * 32), new BytesPieces(new Uint8Array(size), true), complete ? PieceSet.full(pieces) : null, lastUsed)
}

describe('the media cache', () => {
  it('evicts the least recently used complete copies, never pinned, busy or incomplete ones', async () => {
    const cache = new MediaCache(1000 * KiB)
    const [a, b, c, d] = [held('a', 300 * KiB, 1), held('b', 300 * KiB, 2), held('c', 200 * KiB, 3), held('d', 100 * KiB, 0, false)]
    a.pinned = true
    for (const h of [a, b, c, d]) cache.add(h)
    expect(cache.copiedBytes()).toBe(900 * KiB)
    expect(await cache.makeRoom(100 * KiB, () => false)).toBe(true)
    expect(cache.get(b.info.mediaId)).toBe(b)
    // 400 KiB more: b goes (oldest unpinned complete), c stays.
    expect(await cache.makeRoom(400 * KiB, () => false)).toBe(true)
    expect(cache.get(b.info.mediaId)).toBeUndefined()
    expect(cache.get(a.info.mediaId)).toBe(a)
    expect(cache.get(c.info.mediaId)).toBe(c)
    // More than can ever be freed: c is busy (being served), a pinned, d incomplete.
    expect(await cache.makeRoom(900 * KiB, (id) => id === c.info.mediaId)).toBe(false)
    expect(cache.get(c.info.mediaId)).toBe(c)
  })

  it('a released file is not served', async () => {
    const cache = new MediaCache(1 << 30)
    const h = held('r', 10, 0)
    cache.add(h)
    await cache.remove(h.info.mediaId)
    expect(cache.get(h.info.mediaId)).toBeUndefined()
    expect(h.released).toBe(true)
  })
})

describe('pieces', () => {
  it('256 KiB pieces up to 2 GiB, then larger: at most 8192 up to 32 GiB, 4 MiB pieces beyond', () => {
    expect(choosePieceSize(0)).toBe(256 * KiB)
    expect(choosePieceSize(2 * 1024 * 1024 * 1024)).toBe(256 * KiB)
    expect(choosePieceSize(2 * 1024 * 1024 * 1024 + 1)).toBe(512 * KiB)
    expect(Math.ceil(32 * 2 ** 30 / choosePieceSize(32 * 2 ** 30))).toBeLessThanOrEqual(8192)
    expect(choosePieceSize(64 * 2 ** 30)).toBe(4 * 1024 * KiB)
  })

  it('a piece set counts, reads back from bits, and knows when it is complete', () => {
    const s = new PieceSet(11)
    s.add(0)
    s.add(10)
    s.add(10)
    expect(s.count).toBe(2)
    const t = new PieceSet(11, s.bits)
    expect(t.has(10) && t.has(0) && !t.has(5)).toBe(true)
    expect(t.count).toBe(2)
    expect(PieceSet.full(11).complete).toBe(true)
  })
})
