import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { nodeMediaFiles } from '../src/media/node-files.js'

// A sender lays out a chunk of DATA frames in one buffer and reads the file straight into the
// frames' data parts (readInto): each view gets exactly its bytes, in order.
const dir = mkdtempSync(join(tmpdir(), 'plaza-node-files-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('a file read into many views', () => {
  it('fills each view with its bytes, in order, from the offset on; a file too short is an error', async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7 + 3) & 255)
    const path = join(dir, 'f.bin')
    writeFileSync(path, bytes)
    const { store } = await nodeMediaFiles.openRead(path)
    // Views of one buffer, with gaps between them (where frame headers go), and an empty one.
    const buf = new Uint8Array(200_100).fill(0xee)
    const views = [buf.subarray(10, 65_546), buf.subarray(65_560, 65_560), buf.subarray(65_600, 131_136), buf.subarray(131_200, 200_000)]
    await store.readInto!(views, 1000)
    let at = 1000
    for (const v of views) {
      expect(Buffer.from(v).equals(Buffer.from(bytes.subarray(at, at + v.length)))).toBe(true)
      at += v.length
    }
    // The gaps are untouched.
    expect(buf.subarray(0, 10).every((b) => b === 0xee)).toBe(true)
    expect(buf.subarray(65_546, 65_600).every((b) => b === 0xee)).toBe(true)
    expect(buf.subarray(200_000).every((b) => b === 0xee)).toBe(true)
    await expect(store.readInto!([new Uint8Array(10_000)], 295_000)).rejects.toThrow(/shorter/)
    await store.close()
  })
})
