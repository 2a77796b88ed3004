/**
 * A 500 MB upload with the node's resident memory sampled throughout: the file is streamed to
 * disk and hashed on the way, never held. Heavy (CPU and disk for a few seconds): it runs apart
 * from the timing-sensitive hostile tests.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe as suite, expect, it } from 'vitest'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { describe, fetchMedia, put, rssMiB, seededStream } from '../helpers/media.js'

const SEED = process.env.MEDIA_SEED ?? randomBytes(6).toString('hex')
console.log(`media-upload heavy seed: ${SEED} (MEDIA_SEED=${SEED} to replay)`)
const MiB = 1024 * 1024
const BIG = 500 * MiB

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous({ args: ['--media-max-file-bytes', String(BIG)] })
})
afterAll(async () => {
  await stopRendezvous(node)
})

suite('a 500 MB upload', () => {
  it('stores a 500 MB file with the node’s memory bounded (RSS sampled during the upload)', async () => {
    const info = await describe(seededStream(`${SEED}/500`, BIG))
    const token = await node.token('uploader')
    const pid = node.proc.pid!
    if (global.gc) global.gc()
    const before = await rssMiB(pid)
    let peak = before
    const sampler = setInterval(() => void rssMiB(pid).then((r) => (peak = Math.max(peak, r)), () => undefined), 50)
    const started = Date.now()
    const up = await put(node.httpUrl, info.mediaId, seededStream(`${SEED}/500`, BIG), { token, headers: { 'content-length': String(BIG) } })
    const seconds = (Date.now() - started) / 1000
    clearInterval(sampler)
    peak = Math.max(peak, await rssMiB(pid))
    console.log(`500 MB upload: ${seconds.toFixed(1)} s (${(500 / seconds).toFixed(0)} MB/s); node RSS ${before.toFixed(0)} MiB before, peak ${peak.toFixed(0)} MiB (+${(peak - before).toFixed(0)} MiB)`)
    expect(up.status).toBe(201)
    expect(up.json.size).toBe(BIG)
    // The file is never held: what grows is a few chunks, the manifest (64 KiB here) and the runtime's own buffers.
    expect(peak - before).toBeLessThan(64)
    const got = await fetchMedia(node.httpUrl, `/media/${info.mediaId}`, { token })
    expect(got.sha256).toBe(info.sha256)
  }, 180_000)

})
