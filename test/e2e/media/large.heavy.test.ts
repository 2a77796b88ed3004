/**
 * A 1 GB file between two Node clients, disk to disk: the clients' memory stays bounded (the
 * sender reads pieces on demand, the receiver writes each verified piece in place).
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type MediaMessage, type ReceivedMessage } from '@plaza/client'
import { closeClients, linkOpen, loggedIn } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'

const SIZE = 1024 * 1024 * 1024
/** The clients' RSS may grow this much while 1 GB goes through them. */
const RSS_BOUND = 256 * 1024 * 1024

let node: RendezvousProcess
let dir: string
beforeAll(async () => {
  node = await startRendezvous({ args: ['--link-policy', 'always'] })
  dir = await mkdtemp(join(tmpdir(), 'plaza-media-1g-'))
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
  await rm(dir, { recursive: true, force: true })
})

async function fileSha(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** A file of pseudo-random bytes (a cheap generator: the point is the size, not the entropy). */
async function makeFile(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w')
  const block = new Uint8Array(4 * 1024 * 1024)
  let x = 0x9e3779b9
  for (let at = 0; at < size; at += block.length) {
    for (let i = 0; i < block.length; i += 4) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      block[i] = x & 255
      block[i + 1] = (x >>> 8) & 255
      block[i + 2] = (x >>> 16) & 255
      block[i + 3] = (x >>> 24) & 255
    }
    await fh.write(block, 0, Math.min(block.length, size - at))
  }
  await fh.close()
}

it('1 GB from a file to a file: SHA-256 equal, the clients grow by less than 256 MB', async () => {
  const src = join(dir, 'src.bin')
  const dst = join(dir, 'dst.bin')
  await makeFile(src, SIZE)
  const a = await loggedIn(node, 'big-a', { maxMediaBytes: 2 * SIZE })
  const b = await loggedIn(node, 'big-b', { maxMediaBytes: 2 * SIZE })
  await a.sendMessageToPeer({ text: 'hello' }, 'big-b')
  await linkOpen(a, 'big-b')
  global.gc?.()
  const rssBefore = process.memoryUsage().rss
  let rssPeak = rssBefore
  const sample = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100)
  try {
    const msg = await a.createMediaMessage(src, { messageType: 'FILE', fileName: 'src.bin' })
    const arrived = new Promise<MediaMessage>((resolve) => b.on('MessageFromPeer', (m: ReceivedMessage) => m.messageType === 'FILE' && resolve(m)))
    await a.sendMessageToPeer(msg, 'big-b')
    const got = await arrived
    const t0 = performance.now()
    let last = 0
    await b.downloadMediaToFile(got, dst, { onProgress: (p) => (last = p.loaded) })
    const seconds = (performance.now() - t0) / 1000
    expect(last).toBe(SIZE)
    console.log(`1 GB in ${seconds.toFixed(1)} s (${(SIZE / 1e6 / seconds).toFixed(1)} MB/s); RSS ${(rssBefore / 1e6).toFixed(0)} → peak ${(rssPeak / 1e6).toFixed(0)} MB`)
  } finally {
    clearInterval(sample)
  }
  expect(rssPeak - rssBefore).toBeLessThan(RSS_BOUND)
  expect(await fileSha(dst)).toBe(await fileSha(src))
}, 240_000)
