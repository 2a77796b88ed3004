/**
 * The relay's side of media, spoken frame by frame (RawClient): a media message for an offline
 * receiver is stored only once its file is in the node's media store (MEDIA_WANTED before), and
 * media transfer frames go between online users, never to the offline store.
 */
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe as suite, expect, it } from 'vitest'
import {
  ErrorCode,
  FrameType,
  MediaErrorCode,
  MediaFrameType,
  MediaPart,
  MediaType,
  MessageKind,
  PeerFrameType,
  RelayStatus,
  decodeMediaInfo,
  decodePeerFrame,
  encodeMediaFrame,
  encodeMediaInfo,
  encodePeerFrame,
  type ServerFrame,
} from '@plaza/protocol'
import { RawClient, textFrame } from '../helpers/raw-client.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { describe, fetchMedia, put, type Described } from '../helpers/media.js'
import { until } from '../helpers/wait.js'

const SEED = process.env.MEDIA_SEED ?? randomBytes(6).toString('hex')
console.log(`media-relay seed: ${SEED}`)
const OFFLINE_RETENTION_MS = 30 * 86400_000

let node: RendezvousProcess
const clients: RawClient[] = []

beforeAll(async () => {
  // Files kept a day; offline messages 30 days: a stored media message extends its file.
  node = await startRendezvous({
    // A byte budget of 1 MiB a minute: the budget test passes it whatever the machine's speed.
    args: ['--media-retention-ms', String(86400_000), '--offline-retention-ms', String(OFFLINE_RETENTION_MS), '--rate-limit', 'fanoutBytes=1048576/60000'],
  })
})
afterAll(async () => {
  for (const c of clients) c.close()
  await stopRendezvous(node)
})

async function login(uid: string): Promise<RawClient> {
  const c = await RawClient.open(node.url)
  clients.push(c)
  await c.login(uid, await node.token(uid))
  return c
}

function mediaMessage(stream: string, seq: number, info: Described, fileName = 'notes.pdf'): Uint8Array {
  const bytes = encodeMediaInfo({
    mediaId: info.mediaId,
    size: info.size,
    pieceSize: info.pieceSize,
    sha256: Buffer.from(info.sha256, 'hex'),
    mediaType: MediaType.FILE,
    fileName,
    mimeType: 'application/pdf',
    width: 0,
    height: 0,
    thumbnail: new Uint8Array(0),
    manifest: new Uint8Array(0),
  })
  return encodePeerFrame({ type: PeerFrameType.MESSAGE, stream, channel: '', seq, floor: 1, sentTs: Date.now(), kind: MessageKind.MEDIA, text: '', bytes, description: 'the notes' })
}

const relayResult = (reqId: number) => (f: ServerFrame) => f.type === FrameType.RELAY_RESULT && f.reqId === reqId

suite('media through the relay', () => {
  it('asks for the file (MEDIA_WANTED) before storing a media message for an offline user; STORED once it is uploaded', async () => {
    const alice = await login('m-alice')
    const file = randomBytes(700_000 + (Number.parseInt(SEED.slice(0, 4), 16) % 1000))
    const info = await describe(Readable.from([file]))
    const payload = mediaMessage('s-alice', 1, info)
    alice.send({ type: FrameType.RELAY_TO, reqId: 1, to: 'm-carol', offline: true, payload })
    const wanted = await alice.next(relayResult(1))
    expect(wanted).toMatchObject({ status: RelayStatus.MEDIA_WANTED })
    // Not asking to be stored: the usual PEER_OFFLINE.
    alice.send({ type: FrameType.RELAY_TO, reqId: 2, to: 'm-carol', offline: false, payload })
    expect(await alice.next(relayResult(2))).toMatchObject({ status: RelayStatus.PEER_OFFLINE })
    // A text message (what an old client sends) is stored as before.
    alice.send({ type: FrameType.RELAY_TO, reqId: 3, to: 'm-carol', offline: true, payload: textFrame('s-alice-text', 1, 1, 'hello') })
    expect(await alice.next(relayResult(3))).toMatchObject({ status: RelayStatus.STORED })

    const up = await put(node.httpUrl, info.mediaId, file, { token: await node.token('m-alice') })
    expect(up.status).toBe(201)
    // A day's retention from the upload...
    expect(Number(up.json.expiresAt)).toBeLessThan(Date.now() + 2 * 86400_000)
    alice.send({ type: FrameType.RELAY_TO, reqId: 4, to: 'm-carol', offline: true, payload })
    expect(await alice.next(relayResult(4))).toMatchObject({ status: RelayStatus.STORED })
    // ...extended to cover the stored message's.
    const head = await fetchMedia(node.httpUrl, `/media/${info.mediaId}`, { method: 'HEAD', token: await node.token('m-carol') })
    expect(Number(head.headers['x-plaza-expires-at'])).toBeGreaterThanOrEqual(Date.now() + OFFLINE_RETENTION_MS - 60_000)

    const carol = await login('m-carol')
    /** The stored payload as alice's message, or undefined if it is something else. */
    const fromAlice = (payload: Uint8Array) => {
      const f = decodePeerFrame(payload)
      return f.type === PeerFrameType.MESSAGE && f.stream === 's-alice' ? f : undefined
    }
    const batch = await carol.next((f) => f.type === FrameType.OFFLINE_MESSAGES && f.messages.some((m) => fromAlice(m.payload)))
    if (batch.type !== FrameType.OFFLINE_MESSAGES) throw new Error('not a batch')
    const stored = batch.messages.map((m) => fromAlice(m.payload)).find((m) => m !== undefined)
    if (!stored) throw new Error('no media message')
    expect(stored.kind).toBe(MessageKind.MEDIA)
    const got = decodeMediaInfo(stored.bytes)
    expect(got).toMatchObject({ mediaId: info.mediaId, size: info.size, fileName: 'notes.pdf' })
    const download = await fetchMedia(node.httpUrl, `/media/${got.mediaId}`, { token: await node.token('m-carol') })
    expect(download.sha256).toBe(info.sha256)
  })

  it('refuses a media message whose file could never be stored, or that lies about the stored file', async () => {
    const alice = await login('m-alice2')
    const tooBig = { ...(await describe(Readable.from([randomBytes(1000)]))), size: 200 * 1024 * 1024 }
    alice.send({ type: FrameType.RELAY_TO, reqId: 1, to: 'm-nobody', offline: true, payload: mediaMessage('s-a2', 1, tooBig) })
    expect(await alice.error(ErrorCode.MEDIA_TOO_LARGE)).toMatchObject({ type: FrameType.RESULT, reqId: 1 })
    const file = randomBytes(50_000)
    const info = await describe(Readable.from([file]))
    expect((await put(node.httpUrl, info.mediaId, file, { token: await node.token('m-alice2') })).status).toBe(201)
    const lie = { ...info, sha256: randomBytes(32).toString('hex') }
    alice.send({ type: FrameType.RELAY_TO, reqId: 2, to: 'm-nobody', offline: true, payload: mediaMessage('s-a2', 1, lie) })
    expect(await alice.error(ErrorCode.MEDIA_INTEGRITY)).toMatchObject({ reqId: 2 })
    // A media body that is not a MediaInfo.
    const junk = encodePeerFrame({ type: PeerFrameType.MESSAGE, stream: 's-a2', channel: '', seq: 1, floor: 1, sentTs: Date.now(), kind: MessageKind.MEDIA, text: '', bytes: randomBytes(100), description: '' })
    alice.send({ type: FrameType.RELAY_TO, reqId: 3, to: 'm-nobody', offline: true, payload: junk })
    expect(await alice.error(ErrorCode.MALFORMED_FRAME)).toMatchObject({ reqId: 3 })
  })

  it('relays media transfer frames between two online users and refuses them (PEER_OFFLINE) to an offline one', async () => {
    const alice = await login('t-alice')
    const bob = await login('t-bob')
    const mediaId = (await describe(Readable.from([randomBytes(1000)]))).mediaId
    const request = encodeMediaFrame({ type: MediaFrameType.REQUEST, mediaId, reqId: 7, part: MediaPart.DATA, offset: 0, length: 16 * 1024 })
    bob.send({ type: FrameType.RELAY_TO, reqId: 1, to: 't-alice', offline: true, payload: request })
    expect(await bob.next(relayResult(1))).toMatchObject({ status: RelayStatus.RELAYED })
    const got = await alice.next((f) => f.type === FrameType.RELAY_FROM && f.from === 't-bob')
    if (got.type !== FrameType.RELAY_FROM) throw new Error('no relay')
    expect(Buffer.from(got.payload).equals(Buffer.from(request))).toBe(true)
    const block = randomBytes(16 * 1024)
    const data = encodeMediaFrame({ type: MediaFrameType.DATA, mediaId, reqId: 7, part: MediaPart.DATA, offset: 0, bytes: block })
    for (let i = 0; i < 20; i++) alice.send({ type: FrameType.RELAY_TO, reqId: 100 + i, to: 't-bob', offline: false, payload: data })
    for (let i = 0; i < 20; i++) expect(await alice.next(relayResult(100 + i))).toMatchObject({ status: RelayStatus.RELAYED })
    for (let i = 0; i < 20; i++) {
      const f = await bob.next((f) => f.type === FrameType.RELAY_FROM && f.from === 't-alice')
      if (f.type !== FrameType.RELAY_FROM) throw new Error('no relay')
      expect(Buffer.from(f.payload).equals(Buffer.from(data))).toBe(true)
    }
    // Offline receiver: never stored, whatever the frame asks.
    const error = encodeMediaFrame({ type: MediaFrameType.ERROR, mediaId, reqId: 7, code: MediaErrorCode.NOT_FOUND })
    alice.send({ type: FrameType.RELAY_TO, reqId: 200, to: 't-offline', offline: true, payload: error })
    expect(await alice.next(relayResult(200))).toMatchObject({ status: RelayStatus.PEER_OFFLINE })
    // A bad media frame is refused with a code; the session goes on.
    const bad = Uint8Array.from([MediaFrameType.DATA, 3, 65, 65, 65])
    alice.send({ type: FrameType.RELAY_TO, reqId: 201, to: 't-bob', offline: false, payload: bad })
    expect(await alice.error(ErrorCode.MALFORMED_FRAME)).toMatchObject({ reqId: 201 })
    alice.send({ type: FrameType.RELAY_TO, reqId: 202, to: 't-bob', offline: false, payload: request })
    expect(await alice.next(relayResult(202))).toMatchObject({ status: RelayStatus.RELAYED })
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text()
    expect(metrics).toMatch(/plaza_messages_relayed_total\{kind="media"\} 22/)
  })

  it('charges relayed media bytes to the sender’s byte budget (TOO_OFTEN past it)', async () => {
    const alice = await login('b-alice')
    await login('b-bob')
    const mediaId = (await describe(Readable.from([randomBytes(10)]))).mediaId
    const data = encodeMediaFrame({ type: MediaFrameType.DATA, mediaId, reqId: 1, part: MediaPart.DATA, offset: 0, bytes: randomBytes(16 * 1024) })
    // 1 MiB a minute here: 100 frames of 16 KiB (the relay's block) are ~1.6 MiB.
    for (let i = 0; i < 100; i++) alice.send({ type: FrameType.RELAY_TO, reqId: 1000 + i, to: 'b-bob', offline: false, payload: data })
    // Every request answered: RELAYED (many at once, at the end of a turn) or TOO_OFTEN.
    const answers = () => alice.frames.filter((f) => (f.type === FrameType.RELAY_RESULT || f.type === FrameType.RESULT) && f.reqId >= 1000)
    await until(() => answers().length === 100, 10_000, 'every request answered')
    const refused = answers().filter((f) => f.type === FrameType.RESULT && f.code === ErrorCode.TOO_OFTEN).length
    const relayed = answers().filter((f) => f.type === FrameType.RELAY_RESULT && f.status === RelayStatus.RELAYED).length
    expect(relayed + refused).toBe(100)
    expect(relayed).toBeGreaterThan(50)
    expect(relayed).toBeLessThanOrEqual(64)
  })
})
