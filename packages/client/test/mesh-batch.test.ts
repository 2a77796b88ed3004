import { afterEach, describe, expect, it } from 'vitest'
import { LinkFeature, LinkFrameType, MAX_LINK_BATCH_BYTES, decodeLinkBatch, encodeLinkBatch, encodeLinkHello } from '@plaza/protocol'
import { closeMeshes, pair } from './fake-mesh.js'

afterEach(closeMeshes)

const frame = (i: number, size = 20) => {
  const b = new Uint8Array(size).fill(i & 0xff)
  b[0] = 1 // a peer MESSAGE's type byte
  return b
}
const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 2))
  expect(check()).toBe(true)
}

describe('link frames: HELLO and BATCH', () => {
  it('encodes and decodes a batch; refuses nested link frames, empty frames, trailing bytes and too many frames', () => {
    const frames = [frame(1), frame(2, 300), frame(3, 1)]
    const bytes = encodeLinkBatch(frames, 321)
    expect(decodeLinkBatch(bytes).map((f) => [...f])).toEqual(frames.map((f) => [...f]))
    expect(() => decodeLinkBatch(encodeLinkBatch([frame(1), encodeLinkHello(1)], 30))).toThrow(/nested/)
    expect(() => decodeLinkBatch(encodeLinkBatch([frame(1), new Uint8Array(0)], 20))).toThrow(/empty/)
    expect(() => decodeLinkBatch(new Uint8Array([...bytes, 0]))).toThrow(/trailing/)
    expect(() => decodeLinkBatch(new Uint8Array([LinkFrameType.BATCH, 0x81, 0x02]))).toThrow(/exceeds/)
  })

  it('sends the first frame of a turn at once and the rest of the turn as batches, in order, to a peer that said HELLO', async () => {
    const { meshes, links, got } = pair()
    meshes.a!.connect('b')
    await until(() => meshes.a!.isOpen('b') && meshes.b!.isOpen('a'))
    await new Promise((r) => setTimeout(r, 10)) // the HELLOs arrive
    const n = 200
    for (let i = 0; i < n; i++) expect(meshes.a!.send('b', frame(i, 1000))).toBe(true)
    await until(() => got.b!.length === n)
    expect(got.b!.map((f) => f[1])).toEqual(Array.from({ length: n }, (_, i) => i & 0xff))
    const sent = links.a!.wire.filter((w) => w[0] !== LinkFrameType.HELLO)
    // 1 at once, then 199 KB in batches of at most 64 KiB: 4 messages.
    expect(sent.length).toBe(1 + Math.ceil((199 * 1000) / Math.floor(MAX_LINK_BATCH_BYTES / 1000) / 1000))
    expect(sent[0]!.length).toBe(1000)
    for (const w of sent.slice(1)) expect(w.length).toBeLessThanOrEqual(MAX_LINK_BATCH_BYTES + 8 + 3 * 256)
    // A frame in its own turn goes alone and at once.
    await new Promise((r) => setTimeout(r, 5))
    meshes.a!.send('b', frame(7))
    expect(links.a!.wire.at(-1)!.length).toBe(20)
  })

  it('never batches to a peer that did not say HELLO (an older client): one message per frame', async () => {
    const { meshes, links, got } = pair(false)
    meshes.a!.connect('b')
    await until(() => meshes.a!.isOpen('b') && meshes.b!.isOpen('a'))
    await new Promise((r) => setTimeout(r, 10))
    for (let i = 0; i < 50; i++) meshes.a!.send('b', frame(i))
    await until(() => got.b!.length === 50)
    expect(links.a!.wire.filter((w) => w[0] !== LinkFrameType.HELLO).length).toBe(50)
    // b itself still batches to a (a said HELLO): b's frames of one turn arrive in fewer messages.
    for (let i = 0; i < 50; i++) meshes.b!.send('a', frame(i))
    await until(() => got.a!.length === 50)
    expect(links.b!.wire.length).toBe(2)
    expect(LinkFeature.BATCH).toBe(1)
  })

  it('drops a malformed batch without passing anything on and keeps the link', async () => {
    const { meshes, links, got } = pair()
    meshes.a!.connect('b')
    await until(() => meshes.a!.isOpen('b') && meshes.b!.isOpen('a'))
    links.a!.send(new Uint8Array([LinkFrameType.BATCH, 2, 3, 1, 2]))
    // A batch of one frame is refused too (the encoder never makes one).
    links.a!.send(new Uint8Array([LinkFrameType.BATCH, 1, 1, 7]))
    links.a!.send(frame(9))
    await until(() => got.b!.length === 1)
    expect(got.b![0]![1]).toBe(9)
    expect(meshes.b!.isOpen('a')).toBe(true)
  })

  it('takes only the first HELLO: a later one cannot turn batching off (and let a frame overtake those waiting)', async () => {
    const { meshes, links, got } = pair()
    meshes.a!.connect('b')
    await until(() => meshes.a!.isOpen('b') && meshes.b!.isOpen('a'))
    await new Promise((r) => setTimeout(r, 10))
    links.b!.send(encodeLinkHello(0))
    await new Promise((r) => setTimeout(r, 10))
    for (let i = 0; i < 30; i++) meshes.a!.send('b', frame(i))
    await until(() => got.b!.length === 30)
    expect(got.b!.map((f) => f[1])).toEqual(Array.from({ length: 30 }, (_, i) => i))
    expect(links.a!.wire.filter((w) => w[0] !== LinkFrameType.HELLO).length).toBe(2)
  })
})
