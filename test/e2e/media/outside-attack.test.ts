/**
 * What an outside attack on media messages found (issue 13): a sender whose file shrank on disk
 * made its receiver's download hang for ever; two downloads into one path renamed one file's
 * bytes over the other's (and a file downloaded into a path was served on from its side file,
 * gone by then); one caller's cancel ended every caller of a shared transfer; bad ids and
 * paths gave raw errors; and the node let a client hold a connection by trickling headers or an
 * upload's body.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { ErrorCode, PlazaError, PeerMessageState } from '@plaza/client'
import { closeClients, loggedIn } from '../../helpers/clients.js'
import { describe, nextMedia, put, sha256Hex } from '../../helpers/media.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'

let node: RendezvousProcess
const dir = mkdtempSync(join(tmpdir(), 'plaza-media-attack-'))
beforeAll(async () => {
  node = await startRendezvous({ args: ['--media-idle-timeout-ms', '1000'] })
})
afterEach(closeClients)
afterAll(async () => {
  await stopRendezvous(node)
  rmSync(dir, { recursive: true, force: true })
})

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof PlazaError ? e.code : `not a PlazaError: ${String(e)}`))

it('a sender whose file shrank after it was created: the download ends MEDIA_UNAVAILABLE, it does not hang', async () => {
  const a = await loggedIn(node, 'shrink-a')
  const b = await loggedIn(node, 'shrink-b')
  const path = join(dir, 'shrinks.bin')
  writeFileSync(path, randomBytes(1_000_000))
  const msg = await a.createMediaMessage(path, { messageType: 'FILE', fileName: 'shrinks.bin' })
  truncateSync(path, 300_000)
  const arrived = nextMedia(b)
  expect((await a.sendMessageToPeer(msg, 'shrink-b')).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
  expect(await codeOf(b.downloadMedia(await arrived))).toBe(ErrorCode.MEDIA_UNAVAILABLE)
}, 60_000)

it('a file that shrank, sent to an offline receiver: FAILURE at once (nothing could be stored), not SENT_TIMEOUT', async () => {
  const a = await loggedIn(node, 'shrink-off-a')
  const path = join(dir, 'shrinks-offline.bin')
  writeFileSync(path, randomBytes(1_000_000))
  const msg = await a.createMediaMessage(path, { messageType: 'FILE', fileName: 'shrinks.bin' })
  truncateSync(path, 300_000)
  const t0 = Date.now()
  const r = await a.sendMessageToPeer(msg, 'shrink-off-b', { enableOfflineMessaging: true })
  expect(r.state).toBe(PeerMessageState.FAILURE)
  expect(Date.now() - t0).toBeLessThan(5_000)
})

it('two downloads of different files into one path: the second is refused, the first file is whole', async () => {
  const a = await loggedIn(node, 'path-a')
  const b = await loggedIn(node, 'path-b')
  const one = new Uint8Array(randomBytes(3_000_000))
  const two = new Uint8Array(randomBytes(2_000_000))
  const got: Array<Awaited<ReturnType<typeof nextMedia>>> = []
  b.on('MessageFromPeer', (m) => void (m.messageType === 'FILE' && got.push(m)))
  for (const [i, data] of [one, two].entries()) {
    const m = await a.createMediaMessage(data, { messageType: 'FILE', fileName: `report${i}.pdf` })
    expect((await a.sendMessageToPeer(m, 'path-b')).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
  }
  const path = join(dir, 'report.pdf')
  const first = b.downloadMediaToFile(got[0]!, path)
  const second = b.downloadMediaToFile(got[1]!, join(dir, '.', 'report.pdf'))
  expect(await codeOf(second)).toBe(ErrorCode.INVALID_ARGUMENT)
  expect((await first).size).toBe(one.length)
  expect(sha256Hex(readFileSync(path))).toBe(sha256Hex(one))
  // The same file into the same path three times at once: every call gets it, one side file at most.
  const again = join(dir, 'again.pdf')
  const all = await Promise.all([0, 1, 2].map(() => b.downloadMediaToFile(got[1]!, again)))
  expect(all.map((r) => r.size)).toEqual([two.length, two.length, two.length])
  expect(sha256Hex(readFileSync(again))).toBe(sha256Hex(two))
  expect(existsSync(`${again}.part`)).toBe(false)
  // A file downloaded into a path is served on from there (not from its side file, gone by then).
  await a.logout()
  const c = await loggedIn(node, 'path-c')
  const forwarded = nextMedia(c)
  expect((await b.sendMessageToPeer(got[0]!, 'path-c')).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
  const blob = await c.downloadMedia(await forwarded)
  expect(sha256Hex(new Uint8Array(await blob.arrayBuffer()))).toBe(sha256Hex(one))
}, 60_000)

it('one caller’s cancel ends that call only: another call for the same media id still gets the file', async () => {
  const a = await loggedIn(node, 'share-a')
  const b = await loggedIn(node, 'share-b')
  const data = new Uint8Array(randomBytes(20 * 1024 * 1024))
  const msg = await a.createMediaMessage(data, { messageType: 'FILE', fileName: 'big.bin' })
  const arrived = nextMedia(b)
  await a.sendMessageToPeer(msg, 'share-b')
  const m = await arrived
  const ac = new AbortController()
  const plain = b.downloadMedia(m)
  const cancelled = b.downloadMedia(m, { signal: ac.signal, onProgress: () => ac.abort() })
  expect(await codeOf(cancelled)).toBe(ErrorCode.CANCELLED)
  expect(sha256Hex(new Uint8Array(await (await plain).arrayBuffer()))).toBe(sha256Hex(data))
}, 60_000)

it('a bad media id or a directory as the path: INVALID_ARGUMENT, nothing made on disk', async () => {
  const a = await loggedIn(node, 'bad-a')
  const b = await loggedIn(node, 'bad-b')
  for (const bad of [null, 42, {}, 'short', 'x'.repeat(1_000_000)]) {
    const err = await b.downloadMedia(bad as never).then(() => null, (e: unknown) => e as PlazaError)
    expect(err?.code).toBe(ErrorCode.INVALID_ARGUMENT)
    expect(err!.message.length).toBeLessThan(200)
  }
  const msg = await a.createMediaMessage(new Uint8Array(1000), { messageType: 'FILE', fileName: 'small.bin' })
  const arrived = nextMedia(b)
  await a.sendMessageToPeer(msg, 'bad-b')
  const target = mkdtempSync(join(dir, 'a-directory-'))
  expect(await codeOf(b.downloadMediaToFile(await arrived, target))).toBe(ErrorCode.INVALID_ARGUMENT)
  expect(existsSync(`${target}.part`)).toBe(false)
  expect(await codeOf(b.downloadMediaToFile(await arrived, join(dir, 'no-such-dir', 'f.bin')))).toBe(ErrorCode.INVALID_ARGUMENT)
  expect(await codeOf(a.createMediaMessage(new Uint8Array(10), { messageType: 'IMAGE', fileName: 'i.png', width: 1e12 }))).toBe(ErrorCode.INVALID_ARGUMENT)
  expect(await codeOf(a.createMediaMessage(new Uint8Array(10), { messageType: 'FILE', fileName: 'f', description: 'd'.repeat(40_000) }))).toBe(ErrorCode.INVALID_ARGUMENT)
})

it('the node cuts off an upload that trickles (a byte now and then beats the idle timeout): 408', async () => {
  const body = randomBytes(64 * 1024)
  const info = await describe(Readable.from([body]))
  let sent = 0
  const trickle = new Readable({
    read() {
      if (sent >= body.length) return void this.push(null)
      setTimeout(() => this.push(body.subarray(sent, ++sent)), 300)
    },
  })
  const t0 = Date.now()
  const answer = await put(node.httpUrl, info.mediaId, trickle, { token: await node.token('trickle'), headers: { 'content-length': String(body.length) } })
  expect(answer.status).toBe(408)
  expect(answer.json.error).toBe('TIMEOUT')
  expect(Date.now() - t0).toBeLessThan(10_000)
})

it('the node closes a connection whose headers trickle in (one line every 2 s) within about 15 s', async () => {
  const url = new URL(node.httpUrl)
  const s = connect(Number(url.port), url.hostname)
  const t0 = Date.now()
  s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n')
  const timer = setInterval(() => s.write('X-Slow: 1\r\n'), 2000)
  let head = ''
  s.on('data', (d) => (head += String(d)))
  await new Promise<void>((resolve) => s.on('close', () => resolve()))
  clearInterval(timer)
  expect(head.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout')
  expect(Date.now() - t0).toBeLessThan(25_000)
}, 40_000)
