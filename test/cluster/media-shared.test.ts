/**
 * Two nodes on one Redis (AOF) sharing one media directory, as a deployment on a network
 * filesystem would: a file uploaded through one node is served by the other, and a media
 * message for an offline user is stored by either once the file is there.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe as suite, expect, it } from 'vitest'
import {
  FrameType,
  MediaType,
  MessageKind,
  PeerFrameType,
  RelayStatus,
  decodeMediaInfo,
  decodePeerFrame,
  encodeMediaInfo,
  encodePeerFrame,
  type ServerFrame,
} from '@plaza/protocol'
import { RawClient } from '../helpers/raw-client.js'
import { PIECE, describe, fetchMedia, put, seededStream } from '../helpers/media.js'
import { until } from '../helpers/wait.js'
import { startCluster, type Cluster } from './cluster.js'

const SEED = process.env.MEDIA_SEED ?? randomBytes(6).toString('hex')
console.log(`media-shared seed: ${SEED} (MEDIA_SEED=${SEED} to replay)`)
const MiB = 1024 * 1024

let cluster: Cluster
let mediaDir: string
const clients: RawClient[] = []

beforeAll(async () => {
  mediaDir = mkdtempSync(join(tmpdir(), 'plaza-shared-media-'))
  cluster = await startCluster(2, ['--media-dir', mediaDir])
})
afterAll(async () => {
  for (const c of clients) c.close()
  await cluster?.stop()
  rmSync(mediaDir, { recursive: true, force: true })
})

async function login(i: number, uid: string): Promise<RawClient> {
  const node = cluster.nodes[i]
  const c = await RawClient.open(node.url)
  clients.push(c)
  await c.login(uid, await node.token(uid))
  return c
}

const relayResult = (reqId: number) => (f: ServerFrame) => f.type === FrameType.RELAY_RESULT && f.reqId === reqId

suite('a media store shared by two nodes', () => {
  it('serves through node B (whole and by Range) what was uploaded through node A', async () => {
    const [a, b] = cluster.nodes
    const size = 12 * MiB + 321
    const info = await describe(seededStream(`${SEED}/shared`, size))
    const up = await put(a.httpUrl, info.mediaId, seededStream(`${SEED}/shared`, size), { token: await a.token('up'), headers: { 'content-length': String(size) } })
    expect(up.status).toBe(201)
    const token = await b.token('down')
    const head = await fetchMedia(b.httpUrl, `/media/${info.mediaId}`, { method: 'HEAD', token })
    expect(head.status).toBe(200)
    expect(head.headers['x-plaza-sha256']).toBe(info.sha256)
    expect(head.headers['content-length']).toBe(String(size))
    const cut = 5 * MiB + 17
    const first = await fetchMedia(b.httpUrl, `/media/${info.mediaId}`, { token, headers: { range: `bytes=0-${cut - 1}` }, keep: true })
    const rest = await fetchMedia(b.httpUrl, `/media/${info.mediaId}`, { token, headers: { range: `bytes=${cut}-` }, keep: true })
    expect([first.status, rest.status]).toEqual([206, 206])
    expect((await describe(Readable.from([Buffer.concat([first.body, rest.body])]))).sha256).toBe(info.sha256)
    // Uploaded again through B: stored already.
    expect((await put(b.httpUrl, info.mediaId, seededStream(`${SEED}/shared`, size), { token, headers: { 'content-length': String(size) }, expectContinue: true })).status).toBe(200)
  })

  it('answers a media message for an offline user MEDIA_WANTED until the file is there (uploaded through the other node), then STORED', async () => {
    const alice = await login(0, 'sh-alice')
    const file = randomBytes(2 * MiB)
    const info = await describe(Readable.from([file]))
    const payload = encodePeerFrame({
      type: PeerFrameType.MESSAGE,
      stream: 'sh-stream',
      channel: '',
      seq: 1,
      floor: 1,
      sentTs: Date.now(),
      kind: MessageKind.MEDIA,
      text: '',
      bytes: encodeMediaInfo({ mediaId: info.mediaId, size: info.size, pieceSize: info.pieceSize, sha256: Buffer.from(info.sha256, 'hex'), mediaType: MediaType.IMAGE, fileName: 'board.png', mimeType: 'image/png', width: 640, height: 480, thumbnail: randomBytes(300), manifest: new Uint8Array(0) }),
      description: '',
    })
    alice.send({ type: FrameType.RELAY_TO, reqId: 1, to: 'sh-carol', offline: true, payload })
    expect(await alice.next(relayResult(1))).toMatchObject({ status: RelayStatus.MEDIA_WANTED })
    expect((await put(cluster.nodes[1].httpUrl, info.mediaId, file, { token: await cluster.nodes[1].token('sh-alice') })).status).toBe(201)
    alice.send({ type: FrameType.RELAY_TO, reqId: 2, to: 'sh-carol', offline: true, payload })
    expect(await alice.next(relayResult(2))).toMatchObject({ status: RelayStatus.STORED })
    // The receiver comes to node B and fetches the file there.
    const carol = await login(1, 'sh-carol')
    const batch = await carol.next((f) => f.type === FrameType.OFFLINE_MESSAGES && f.messages.length > 0, 10_000)
    if (batch.type !== FrameType.OFFLINE_MESSAGES) throw new Error('no batch')
    const message = decodePeerFrame(batch.messages[0].payload)
    if (message.type !== PeerFrameType.MESSAGE) throw new Error('not a message')
    const got = decodeMediaInfo(message.bytes)
    expect(got).toMatchObject({ mediaId: info.mediaId, fileName: 'board.png', width: 640 })
    const download = await fetchMedia(cluster.nodes[1].httpUrl, `/media/${got.mediaId}`, { token: await cluster.nodes[1].token('sh-carol') })
    expect(download.sha256).toBe(info.sha256)
  })

  it('a node starting on the shared directory leaves the other’s upload under way alone', async () => {
    const [a, b] = cluster.nodes
    const sock = connect(a.port, '127.0.0.1')
    sock.on('error', () => undefined)
    const closed = new Promise((r) => sock.on('close', r))
    sock.write(`PUT /media/${'W'.repeat(43)}?pieceSize=${PIECE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await a.token('writer')}\r\nContent-Length: ${MiB}\r\n\r\n`)
    sock.write(randomBytes(1000))
    const tmp = join(mediaDir, 'tmp')
    await until(() => readdirSync(tmp).some((n) => n.endsWith('.part')), 5000, 'an upload under way')
    const parts = readdirSync(tmp).filter((n) => n.endsWith('.part'))
    await b.kill()
    await b.restart()
    expect(readdirSync(tmp).filter((n) => n.endsWith('.part'))).toEqual(parts)
    sock.destroy()
    await closed
    await until(() => readdirSync(tmp).length === 0, 5000, 'the cut-off upload removed by its node')
  })
})
