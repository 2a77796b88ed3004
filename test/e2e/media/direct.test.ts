/**
 * Media messages between Node clients over a direct link: a file made, sent, fetched, verified;
 * progress; cancel on both sides; a file on disk to a file on disk.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, PeerMessageState, type PlazaClient } from '@plaza/client'
import { closeClients, linkOpen, loggedIn } from '../../helpers/clients.js'
import { nextMedia, sha256Hex } from '../../helpers/media.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'

let node: RendezvousProcess
let dir: string
beforeAll(async () => {
  node = await startRendezvous({ args: ['--link-policy', 'always'] })
  dir = await mkdtemp(join(tmpdir(), 'plaza-media-'))
})
afterEach(closeClients)
afterAll(async () => {
  await stopRendezvous(node)
  await rm(dir, { recursive: true, force: true })
})


async function pair(tag: string, opts = {}): Promise<[PlazaClient, PlazaClient, string, string]> {
  const ua = `${tag}-a`
  const ub = `${tag}-b`
  const a = await loggedIn(node, ua, opts)
  const b = await loggedIn(node, ub, opts)
  await a.sendMessageToPeer({ text: 'hello' }, ub)
  await linkOpen(a, ub)
  return [a, b, ua, ub]
}

describe('media over a direct link', () => {
  it('a 20 MB file arrives whole: SHA-256 equal, metadata as sent, progress monotonic to 100%', async () => {
    const [a, b, , ub] = await pair('m1')
    const data = new Uint8Array(randomBytes(20 * 1024 * 1024 + 123))
    const thumbnail = new Uint8Array(randomBytes(2000))
    const msg = await a.createMediaMessage(data, { messageType: 'IMAGE', fileName: 'photo.jpg', mimeType: 'image/jpeg', description: 'the view', thumbnail, width: 640, height: 480 })
    expect(msg.sha256).toBe(sha256Hex(data))
    const arrived = nextMedia(b)
    expect((await a.sendMessageToPeer(msg, ub)).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
    const got = await arrived
    expect(got).toMatchObject({ messageType: 'IMAGE', mediaId: msg.mediaId, size: data.length, fileName: 'photo.jpg', mimeType: 'image/jpeg', description: 'the view', width: 640, height: 480, sha256: msg.sha256 })
    expect(sha256Hex(got.thumbnail)).toBe(sha256Hex(thumbnail))
    const seen: number[] = []
    const blob = await b.downloadMedia(got.mediaId, { onProgress: (p) => seen.push(p.loaded) })
    expect(sha256Hex(new Uint8Array(await blob.arrayBuffer()))).toBe(sha256Hex(data))
    expect(blob.type).toBe('image/jpeg')
    expect(seen.length).toBeGreaterThan(10)
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1])
    expect(seen.at(-1)).toBe(data.length)
  })

  it('file to file: a path is served from disk and fetched into a file', async () => {
    const [a, b, , ub] = await pair('m2')
    const src = join(dir, 'src.bin')
    const dst = join(dir, 'dst.bin')
    const data = new Uint8Array(randomBytes(9 * 1024 * 1024))
    await writeFile(src, data)
    const msg = await a.createMediaMessage(src, { messageType: 'FILE', fileName: 'src.bin' })
    const arrived = nextMedia(b)
    await a.sendMessageToPeer(msg, ub)
    const got = await arrived
    expect(await b.downloadMediaToFile(got, dst)).toEqual({ path: dst, size: data.length })
    expect(sha256Hex(await readFile(dst))).toBe(sha256Hex(data))
  })

  it('unknown media id: MEDIA_NOT_FOUND; a bad message is refused before it goes', async () => {
    const [a, , , ub] = await pair('m3')
    await expect(a.downloadMedia('A'.repeat(43))).rejects.toMatchObject({ code: ErrorCode.MEDIA_NOT_FOUND })
    const r = await a.sendMessageToPeer({ messageType: 'FILE', mediaId: 'nope', size: 1, fileName: 'x', mimeType: '', description: '', sha256: '00', pieceSize: 1, thumbnail: new Uint8Array(0), width: 0, height: 0 }, ub)
    expect(r.state).toBe(PeerMessageState.INVALID_MESSAGE)
    await expect(a.createMediaMessage(new Uint8Array(10), { messageType: 'FILE', fileName: '' })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT })
  })

  it('cancel on the receiver: CANCELLED at once; downloading again resumes and completes', async () => {
    const [a, b, , ub] = await pair('m4')
    const data = new Uint8Array(randomBytes(30 * 1024 * 1024))
    const msg = await a.createMediaMessage(data, { messageType: 'FILE', fileName: 'big.bin' })
    const arrived = nextMedia(b)
    await a.sendMessageToPeer(msg, ub)
    const got = await arrived
    const ac = new AbortController()
    let loadedAtCancel = 0
    const first = b.downloadMedia(got, {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.loaded > 2 * 1024 * 1024 && !ac.signal.aborted) {
          loadedAtCancel = p.loaded
          ac.abort()
        }
      },
    })
    await expect(first).rejects.toMatchObject({ code: ErrorCode.CANCELLED })
    expect(loadedAtCancel).toBeLessThan(data.length)
    let firstSeen = -1
    const blob = await b.downloadMedia(got, { onProgress: (p) => (firstSeen = firstSeen < 0 ? p.loaded : firstSeen) })
    expect(sha256Hex(new Uint8Array(await blob.arrayBuffer()))).toBe(sha256Hex(data))
    expect(firstSeen).toBeGreaterThan(loadedAtCancel - 1)
  })

  it('cancel on the sender: releaseMedia stops serving, the receiver hears MEDIA_UNAVAILABLE', async () => {
    const [a, b, , ub] = await pair('m5', { })
    const data = new Uint8Array(randomBytes(40 * 1024 * 1024))
    const msg = await a.createMediaMessage(data, { messageType: 'FILE', fileName: 'big.bin' })
    const arrived = nextMedia(b)
    await a.sendMessageToPeer(msg, ub)
    const got = await arrived
    let released = false
    const p = b.downloadMedia(got, {
      onProgress: (pr) => {
        if (!released && pr.loaded > 1024 * 1024) {
          released = true
          void a.releaseMedia(msg.mediaId)
        }
      },
    })
    await expect(p).rejects.toMatchObject({ code: ErrorCode.MEDIA_UNAVAILABLE })
    expect(released).toBe(true)
  })

  it('a holder that serves bytes not matching the hashes: every bad piece is discarded, the download ends MEDIA_INTEGRITY', async () => {
    const [a, b, , ub] = await pair('m6')
    const data = new Uint8Array(randomBytes(3 * 1024 * 1024))
    const msg = await a.createMediaMessage(data, { messageType: 'FILE', fileName: 'f.bin' })
    // The app's array is served as it is (not copied): changing it makes the sender a bad holder.
    data.fill(7)
    const arrived = nextMedia(b)
    await a.sendMessageToPeer(msg, ub)
    let loaded = 0
    await expect(b.downloadMedia(await arrived, { onProgress: (p) => (loaded = p.loaded) })).rejects.toMatchObject({ code: ErrorCode.MEDIA_INTEGRITY })
    expect(loaded).toBe(0)
  })

  it('the sender logs out and back in mid-transfer (its links close): the download goes on by itself and completes', async () => {
    const [a, b, ua, ub] = await pair('m7')
    const data = new Uint8Array(randomBytes(40 * 1024 * 1024))
    const msg = await a.createMediaMessage(data, { messageType: 'FILE', fileName: 'big.bin' })
    const arrived = nextMedia(b)
    await a.sendMessageToPeer(msg, ub)
    let bounced: Promise<void> | null = null
    const seen: number[] = []
    const blob = await b.downloadMedia(await arrived, {
      onProgress: (p) => {
        seen.push(p.loaded)
        if (!bounced && p.loaded > 4 * 1024 * 1024) {
          bounced = (async () => {
            await a.logout()
            await a.login({ uid: ua, token: await node.token(ua) })
          })()
        }
      },
    })
    await bounced
    expect(sha256Hex(new Uint8Array(await blob.arrayBuffer()))).toBe(sha256Hex(data))
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1])
  })

  it('two downloads of one file at once share one transfer; a 0-byte file downloads', async () => {
    const [a, b, , ub] = await pair('m8')
    const data = new Uint8Array(randomBytes(5 * 1024 * 1024))
    const msg = await a.createMediaMessage(data, { messageType: 'FILE', fileName: 'f.bin' })
    const empty = await a.createMediaMessage(new Uint8Array(0), { messageType: 'FILE', fileName: 'empty.txt' })
    const arrived = nextMedia(b)
    await a.sendMessageToPeer(msg, ub)
    const got = await arrived
    const blobs = await Promise.all([b.downloadMedia(got), b.downloadMedia(got), b.downloadMedia(got.mediaId)])
    for (const blob of blobs) expect(sha256Hex(new Uint8Array(await blob.arrayBuffer()))).toBe(sha256Hex(data))
    const arrivedEmpty = nextMedia(b)
    await a.sendMessageToPeer(empty, ub)
    expect((await b.downloadMedia(await arrivedEmpty)).size).toBe(0)
  })

  it('to a file: a cancelled download leaves the file at the path untouched, and downloading again resumes from what was verified', async () => {
    const [a, b, , ub] = await pair('m9')
    const data = new Uint8Array(randomBytes(24 * 1024 * 1024))
    const msg = await a.createMediaMessage(data, { messageType: 'FILE', fileName: 'f.bin' })
    const arrived = nextMedia(b)
    await a.sendMessageToPeer(msg, ub)
    const got = await arrived
    const dst = join(dir, 'precious.txt')
    await writeFile(dst, 'IMPORTANT USER DATA')
    const ac = new AbortController()
    let atCancel = 0
    await expect(
      b.downloadMediaToFile(got, dst, {
        signal: ac.signal,
        onProgress: (p) => {
          if (p.loaded >= 4 * 1024 * 1024 && !ac.signal.aborted) {
            atCancel = p.loaded
            ac.abort()
          }
        },
      }),
    ).rejects.toMatchObject({ code: ErrorCode.CANCELLED })
    expect(await readFile(dst, 'utf8')).toBe('IMPORTANT USER DATA')
    let first = -1
    await b.downloadMediaToFile(got, dst, { onProgress: (p) => (first = first < 0 ? p.loaded : first) })
    expect(first).toBeGreaterThanOrEqual(atCancel)
    expect(sha256Hex(await readFile(dst))).toBe(sha256Hex(data))
  })
})

it('a stream is copied to a temporary file to be served, and the copy is deleted when the media is released', async () => {
  const { Readable } = await import('node:stream')
  const { readdir } = await import('node:fs/promises')
  const a = await loggedIn(node, 'spool-a')
  const listTemps = async () => (await readdir(tmpdir())).filter((f) => f.startsWith('plaza-media-'))
  const before = new Set(await listTemps())
  const msg = await a.createMediaMessage(Readable.from([new Uint8Array(randomBytes(300 * 1024)), new Uint8Array(randomBytes(100))]), { messageType: 'FILE', fileName: 's.bin' })
  expect(msg.size).toBe(300 * 1024 + 100)
  const made = (await listTemps()).filter((f) => !before.has(f))
  expect(made.length).toBe(1)
  await a.releaseMedia(msg.mediaId)
  expect((await listTemps()).filter((f) => !before.has(f))).toEqual([])
})
