/**
 * Uploads that try the node: a sender that stalls (slowloris), more uploads at once than
 * allowed, an app past its quota. (A 500 MB upload: media-upload.heavy.test.ts.)
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe as suite, expect, it } from 'vitest'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { PIECE, describe, fetchMedia, put, seededStream } from '../helpers/media.js'
import { until } from '../helpers/wait.js'

const SEED = process.env.MEDIA_SEED ?? randomBytes(6).toString('hex')
console.log(`media-upload seed: ${SEED} (MEDIA_SEED=${SEED} to replay)`)
const MiB = 1024 * 1024
const QUOTA = 24 * MiB

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous({
    args: ['--media-quota-app', String(QUOTA), '--media-idle-timeout-ms', '1500', '--media-uploads', '1/4'],
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
  sock.write(`PUT /media/${mediaId}?pieceSize=${PIECE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${MiB}\r\n\r\n`)
  sock.write(randomBytes(bytes))
  return { sock, reply }
}

suite('hostile uploads', () => {
  it('refuses what would pass the app’s quota (507 QUOTA_EXCEEDED) before reading the body', async () => {
    const token = await node.token('quota')
    // 20 MiB stored of 24 MiB: 5 MiB more does not fit.
    const stored = await describe(seededStream(`${SEED}/q0`, 20 * MiB))
    expect((await put(node.httpUrl, stored.mediaId, seededStream(`${SEED}/q0`, 20 * MiB), { token, headers: { 'content-length': String(20 * MiB) } })).status).toBe(201)
    const over = await put(node.httpUrl, 'Q'.repeat(43), seededStream(`${SEED}/q`, 5 * MiB), { token, headers: { 'content-length': String(5 * MiB) }, expectContinue: true })
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
  it('answers a body it will not read, drops what keeps coming, and closes the connection after the linger (2 s)', async () => {
    const token = await node.token('trickle')
    // 30 MiB declared: over the 24 MiB quota, refused before the body.
    const sock = connect(node.port, '127.0.0.1')
    let text = ''
    sock.on('data', (d) => (text += d.toString('latin1')))
    sock.on('error', () => undefined)
    const closed = new Promise<number>((resolve) => sock.on('close', () => resolve(Date.now())))
    sock.write(`PUT /media/${'T'.repeat(43)}?pieceSize=${PIECE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${30 * MiB}\r\n\r\n`)
    const trickle = setInterval(() => sock.writable && sock.write(randomBytes(64 * 1024)), 50)
    try {
      await until(() => text.includes('QUOTA_EXCEEDED'), 5000, 'the answer')
      const answered = Date.now()
      expect(text).toMatch(/^HTTP\/1\.1 507 /)
      const at = await closed
      expect(at - answered).toBeGreaterThanOrEqual(1500)
      expect(at - answered).toBeLessThan(10_000)
    } finally {
      clearInterval(trickle)
      sock.destroy()
    }
    expect((await fetchMedia(node.httpUrl, '/healthz')).status).toBe(200)
  })
})
