/**
 * Uploads that try the node: a 500 MB file (memory stays bounded), a sender that stalls
 * (slowloris), more uploads at once than allowed, an app past its quota.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe as suite, expect, it } from 'vitest'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { PIECE, describe, fetchMedia, put, rssMiB, seededStream } from '../helpers/media.js'
import { until } from '../helpers/wait.js'

const SEED = process.env.MEDIA_SEED ?? randomBytes(6).toString('hex')
console.log(`media-upload seed: ${SEED} (MEDIA_SEED=${SEED} to replay)`)
const MiB = 1024 * 1024
const BIG = 500 * MiB
const QUOTA = 520 * MiB

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous({
    args: ['--media-max-file-bytes', String(BIG), '--media-quota-app', String(QUOTA), '--media-idle-timeout-ms', '1500', '--media-uploads', '1/4'],
  })
})
afterAll(async () => {
  await stopRendezvous(node)
})

const tmpDir = () => join(node.dataDir, 'media', 'tmp')
const tmpEmpty = () => !existsSync(tmpDir()) || readdirSync(tmpDir()).length === 0

/** Sends the head of an upload and `bytes` of its body, then nothing. */
function stall(mediaId: string, token: string, bytes: number): { sock: Socket; reply: Promise<string> } {
  const sock = connect(node.port, '127.0.0.1')
  let text = ''
  sock.on('data', (d) => (text += d.toString('latin1')))
  sock.on('error', () => undefined)
  const reply = new Promise<string>((resolve) => sock.on('close', () => resolve(text)))
  sock.write(`PUT /media/${mediaId}?pieceSize=${PIECE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${10 * MiB}\r\n\r\n`)
  sock.write(randomBytes(bytes))
  return { sock, reply }
}

suite('hostile uploads', () => {
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

  it('refuses what would pass the app’s quota (507 QUOTA_EXCEEDED) before reading the body', async () => {
    // 500 MiB stored of 520 MiB: 30 MiB more does not fit.
    const token = await node.token('quota')
    const over = await put(node.httpUrl, 'Q'.repeat(43), seededStream(`${SEED}/q`, 30 * MiB), { token, headers: { 'content-length': String(30 * MiB) }, expectContinue: true })
    expect(over.status).toBe(507)
    expect(over.json.error).toBe('QUOTA_EXCEEDED')
    const body = randomBytes(MiB)
    const fits = await put(node.httpUrl, (await describe(Readable.from([body]))).mediaId, body, { token })
    expect(fits.status).toBe(201)
  })

  it('cuts off a sender that stops sending (408 after the idle timeout) and removes its temp file', async () => {
    const token = await node.token('slow')
    const started = Date.now()
    const { reply } = stall('S'.repeat(43), token, 1000)
    await until(() => !tmpEmpty(), 5000, 'the upload to begin')
    const text = await reply
    const waited = Date.now() - started
    expect(text).toMatch(/^HTTP\/1\.1 408 /)
    expect(text).toContain('"error":"TIMEOUT"')
    expect(waited).toBeGreaterThanOrEqual(1400)
    expect(waited).toBeLessThan(10_000)
    await until(tmpEmpty, 5000, 'temp file removed')
  })

  it('allows one upload at a time per user here (429 TOO_OFTEN for a second); the slot comes back when the first ends', async () => {
    const token = await node.token('greedy')
    const first = stall('G'.repeat(43), token, 1000)
    await until(() => !tmpEmpty(), 5000, 'the first upload to begin')
    const body = randomBytes(100_000)
    const info = await describe(Readable.from([body]))
    const second = await put(node.httpUrl, info.mediaId, body, { token })
    expect(second.status).toBe(429)
    expect(second.json.error).toBe('TOO_OFTEN')
    // Another user is not held up.
    expect((await put(node.httpUrl, info.mediaId, body, { token: await node.token('patient') })).status).toBe(201)
    first.sock.destroy()
    await first.reply
    await until(tmpEmpty, 5000, 'temp file removed')
    const other = randomBytes(100_000)
    expect((await put(node.httpUrl, (await describe(Readable.from([other]))).mediaId, other, { token })).status).toBe(201)
    expect((await fetchMedia(node.httpUrl, '/healthz')).status).toBe(200)
  })
})
