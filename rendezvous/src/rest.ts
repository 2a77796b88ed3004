/**
 * The server-side REST API, for app servers: authenticated with the app's secret (HTTP Basic,
 * appId:secret), JSON in and out, errors as { error: CODE, message } with a 4xx status.
 */
import { encodeNodeMessage } from './node-messages.js'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  AttributeOp,
  ErrorCode,
  FrameType,
  MAX_MEMBERS_LISTED,
  MAX_MEMBER_COUNT_CHANNELS,
  MessageKind,
  PeerFrameType,
  PeerMessageState,
  PeerOnlineState,
  PlazaError,
  RateBucket,
  assertChannelId,
  assertUserId,
  checkAttributeKey,
  decodePeerFrame,
  encodeFrame,
  encodePeerFrame,
  messageBodyBytes,
  MAX_MESSAGE_BYTES,
  BROADCAST_STREAM_PREFIX,
  NODE_STREAM_PREFIX,
} from '@plaza/protocol'
import type { RendezvousNode } from './node.js'

const MAX_BODY_BYTES = 64 * 1024

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.TOO_OFTEN]: 429,
  [ErrorCode.PEER_OFFLINE]: 404,
  [ErrorCode.INTERNAL]: 500,
  [ErrorCode.INVALID_APP_ID]: 401,
  [ErrorCode.INVALID_TOKEN]: 401,
  [ErrorCode.NOT_PERMITTED]: 403,
  [ErrorCode.BANNED]: 403,
  [ErrorCode.QUOTA_EXCEEDED]: 429,
  [ErrorCode.UNAVAILABLE]: 503,
}

/** `seconds` of a moderation request: how long it lasts, 0 (or absent) for no end. */
function seconds(b: Record<string, unknown>): number {
  const v = b.seconds ?? 0
  if (typeof v !== 'number') throw new HttpError(400, ErrorCode.INVALID_ARGUMENT, 'seconds: a number (0: no end)')
  return v
}

class HttpError extends PlazaError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message)
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
    throw new HttpError(415, ErrorCode.INVALID_ARGUMENT, 'send application/json')
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new HttpError(413, ErrorCode.FRAME_TOO_LARGE, `body over ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  let body: unknown
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, ErrorCode.MALFORMED_FRAME, 'body is not JSON')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, ErrorCode.INVALID_ARGUMENT, 'body must be an object')
  return body as Record<string, unknown>
}

const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new HttpError(400, ErrorCode.INVALID_ARGUMENT, `${what} must be a string`)
  return v
}

const idList = (v: string | null, what: string, max: number): string[] => {
  const ids = (v ?? '').split(',').filter(Boolean)
  if (ids.length === 0 || ids.length > max) throw new HttpError(400, ErrorCode.INVALID_ARGUMENT, `${what}: 1 to ${max} comma-separated ids`)
  return ids
}

const OPS: Record<string, AttributeOp> = {
  set: AttributeOp.SET,
  addOrUpdate: AttributeOp.ADD_OR_UPDATE,
  deleteByKeys: AttributeOp.DELETE_KEYS,
  clear: AttributeOp.CLEAR,
}

/** The stream of an ACK of a node-sent stream, or null. */
function nodeStreamAcked(payload: Uint8Array): string | null {
  // Fast path for ordinary acks: [ACK tag][1-byte length (stream ids are ≤ 32 bytes)][stream...]
  if (payload[0] !== PeerFrameType.ACK || payload[2] !== NODE_STREAM_PREFIX.charCodeAt(0)) return null
  try {
    const f = decodePeerFrame(payload)
    return f.type === PeerFrameType.ACK && f.stream.startsWith(NODE_STREAM_PREFIX) ? f.stream : null
  } catch {
    return null
  }
}

export class RestApi {
  /** Acknowledgements awaited for messages the node sent on an app's behalf. */
  private readonly awaiting = new Map<string, (state: PeerMessageState | null) => void>()
  private readonly buckets = new Map<string, RateBucket>()

  constructor(private readonly node: RendezvousNode) {}

  /**
   * An ACK addressed to a node-sent stream: settles its waiter; true if it was one (not to
   * forward). The message may have been sent by a REST call on another node: then every node
   * hears of the acknowledgement.
   */
  onAck(payload: Uint8Array): boolean {
    const stream = nodeStreamAcked(payload)
    if (stream === null) return false
    const waiter = this.awaiting.get(stream)
    if (waiter) waiter(PeerMessageState.RECEIVED_BY_PEER)
    else if (this.node.engine.shared) this.node.background(this.node.engine.toNodes(encodeNodeMessage({ kind: 'ack', payload })), 'acknowledgement to the nodes')
    return true
  }

  /** An acknowledgement another node passed on: settles a waiter here, if it is one of ours. */
  onAckFromNode(payload: Uint8Array): void {
    const stream = nodeStreamAcked(payload)
    if (stream !== null) this.awaiting.get(stream)?.(PeerMessageState.RECEIVED_BY_PEER)
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let status = 500
    try {
      const appId = this.authenticate(req)
      const rate = this.node.config.restRateLimit
      const bucket = this.buckets.get(appId) ?? new RateBucket(rate, this.node.rt.clock.now())
      this.buckets.set(appId, bucket)
      if (!bucket.take(this.node.rt.clock.now())) throw new HttpError(429, ErrorCode.TOO_OFTEN, `at most ${rate.count} requests per ${rate.windowMs} ms`)
      const body = await this.route(appId, req, url)
      status = 200
      send(res, 200, body)
    } catch (err) {
      const e =
        err instanceof HttpError
          ? err
          : err instanceof PlazaError
            ? new HttpError(STATUS[err.code] ?? 400, err.code, err.message)
            : new HttpError(500, ErrorCode.INTERNAL, 'internal error')
      if (e.status === 500) this.node.log.error({ err }, 'REST request failed')
      status = e.status
      if (e.status === 401) res.setHeader('www-authenticate', 'Basic realm="plaza", charset="UTF-8"')
      send(res, e.status, { error: e.codeName, message: e.message })
    } finally {
      this.node.metrics.restRequests.inc({ status: String(status) })
    }
  }

  private authenticate(req: IncomingMessage): string {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '')
    const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : ''
    const i = decoded.indexOf(':')
    const appId = decoded.slice(0, i)
    const secret = this.node.config.apps[appId]
    const given = Buffer.from(decoded.slice(i + 1))
    if (i <= 0 || secret === undefined || given.length !== Buffer.byteLength(secret) || !timingSafeEqual(given, Buffer.from(secret))) {
      throw new HttpError(401, ErrorCode.INVALID_TOKEN, 'authenticate with HTTP Basic appId:secret')
    }
    return appId
  }

  private async route(appId: string, req: IncomingMessage, url: URL): Promise<unknown> {
    const path = url.pathname
    const method = req.method ?? 'GET'
    const channelPath = /^\/v1\/channels\/([^/]+)\/(members|attributes)$/.exec(path)
    const userPath = /^\/v1\/users\/([^/]+)\/attributes$/.exec(path)
    const userAction = /^\/v1\/users\/([^/]+)\/(kick|ban)$/.exec(path)
    const memberAction = /^\/v1\/channels\/([^/]+)\/members\/([^/]+)\/(remove|mute)$/.exec(path)
    const allow = (want: string) => {
      if (method !== want) throw new HttpError(405, ErrorCode.INVALID_ARGUMENT, `use ${want}`)
    }
    if (userAction) {
      const uid = decodeURIComponent(userAction[1])
      assertUserId(uid)
      if (userAction[2] === 'kick') {
        allow('POST')
        return { kicked: await this.node.moderation.kick(appId, uid, 'rest') }
      }
      if (method === 'DELETE') {
        const address = url.searchParams.get('address') ?? ''
        return { lifted: await this.node.moderation.unban(appId, uid, address, 'rest') }
      }
      allow('POST')
      const b = await readJson(req)
      return this.node.moderation.ban(appId, uid, seconds(b), b.address === true, 'rest')
    }
    if (memberAction) {
      const channel = decodeURIComponent(memberAction[1])
      const uid = decodeURIComponent(memberAction[2])
      assertChannelId(channel)
      assertUserId(uid)
      if (memberAction[3] === 'remove') {
        allow('POST')
        return this.node.moderation.remove(appId, channel, uid, seconds(await readJson(req)), 'rest')
      }
      if (method === 'DELETE') return { lifted: await this.node.moderation.unmute(appId, channel, uid, 'rest') }
      allow('POST')
      return this.node.moderation.mute(appId, channel, uid, seconds(await readJson(req)), 'rest')
    }
    if (path === '/v1/peer-messages') {
      allow('POST')
      return this.peerMessage(appId, await readJson(req))
    }
    if (path === '/v1/channel-messages') {
      allow('POST')
      return this.channelMessage(appId, await readJson(req))
    }
    if (path === '/v1/online-status') {
      allow('GET')
      const uids = idList(url.searchParams.get('uids'), 'uids', 256)
      for (const u of uids) assertUserId(u)
      const states = await this.node.engine.presenceOf(appId, uids)
      return { statuses: Object.fromEntries(uids.map((u, i) => [u, states[i] === PeerOnlineState.OFFLINE ? 'OFFLINE' : 'ONLINE'])) }
    }
    if (path === '/v1/channels/member-counts') {
      allow('GET')
      const channels = idList(url.searchParams.get('channels'), 'channels', MAX_MEMBER_COUNT_CHANNELS)
      for (const c of channels) assertChannelId(c)
      const counts = await Promise.all(channels.map((c) => this.node.engine.channelCount(appId, c)))
      return { counts: Object.fromEntries(channels.map((c, i) => [c, counts[i]])) }
    }
    if (channelPath) {
      const channel = decodeURIComponent(channelPath[1])
      assertChannelId(channel)
      if (channelPath[2] === 'members') {
        allow('GET')
        const all = await this.node.engine.channelMembers(appId, channel)
        return { count: all.length, members: all.slice(0, MAX_MEMBERS_LISTED).map((m) => m.uid) }
      }
      if (method === 'GET') {
        const entries = await this.node.channels.docs.read(appId, channel, [])
        return { attributes: Object.fromEntries(entries.map(({ key, ...a }) => [key, a])) }
      }
      allow('PUT')
      return this.writeChannelAttributes(appId, channel, await readJson(req))
    }
    if (userPath) {
      allow('GET')
      const uid = decodeURIComponent(userPath[1])
      assertUserId(uid)
      const attrs = await this.node.engine.userAttributes(appId, uid)
      if (!attrs) throw new HttpError(404, ErrorCode.PEER_OFFLINE, 'user is not logged in')
      return { attributes: Object.fromEntries(attrs.map((a) => [a.key, a.value])) }
    }
    throw new HttpError(404, ErrorCode.INVALID_ARGUMENT, `no such endpoint: ${method} ${path}`)
  }

  private body(b: Record<string, unknown>): { kind: MessageKind; text: string; bytes: Uint8Array; description: string } {
    if (typeof b.text === 'string') return { kind: MessageKind.TEXT, text: b.text, bytes: new Uint8Array(0), description: '' }
    if (typeof b.raw === 'string') {
      const bytes = new Uint8Array(Buffer.from(b.raw, 'base64'))
      return { kind: MessageKind.RAW, text: '', bytes, description: typeof b.description === 'string' ? b.description : '' }
    }
    throw new HttpError(400, ErrorCode.INVALID_MESSAGE, 'give "text", or "raw" (base64) with an optional "description"')
  }

  private encodeMessage(channel: string, body: ReturnType<RestApi['body']>): { stream: string; bytes: Uint8Array } {
    if (messageBodyBytes(body.kind, body.text, body.bytes) > MAX_MESSAGE_BYTES) {
      throw new HttpError(400, ErrorCode.INVALID_MESSAGE, `messages are at most ${MAX_MESSAGE_BYTES} bytes`)
    }
    // Channel messages go out on a broadcast stream (nobody acknowledges them); peer messages on a
    // node stream whose acknowledgement the node waits for.
    const stream = (channel ? BROADCAST_STREAM_PREFIX : NODE_STREAM_PREFIX) + randomBytes(12).toString('base64url')
    return { stream, bytes: encodePeerFrame({ type: PeerFrameType.MESSAGE, stream, channel, seq: 1, floor: 1, sentTs: this.node.rt.clock.now(), ...body }) }
  }

  /** Sends like a client would, with the same outcome states. */
  private async peerMessage(appId: string, b: Record<string, unknown>): Promise<unknown> {
    const from = str(b.from, 'from')
    const to = str(b.to, 'to')
    assertUserId(from)
    assertUserId(to)
    const { stream, bytes } = this.encodeMessage('', this.body(b))
    const serverTs = this.node.rt.clock.now()
    // The acknowledgement is awaited before the message goes: it may come back before `deliver` answers.
    let done: (s: PeerMessageState | null) => void = () => undefined
    const acknowledged = new Promise<PeerMessageState | null>((resolve) => {
      const clock = this.node.rt.clock
      const timer = clock.setTimeout(() => done(PeerMessageState.SENT_TIMEOUT), 10_000)
      done = (s) => {
        clock.clearTimeout(timer)
        this.awaiting.delete(stream)
        resolve(s)
      }
      this.awaiting.set(stream, done)
    })
    let delivered = false
    try {
      // With offline messaging a receiver whose connection is down (dropped or silent) gets it stored.
      const frame = encodeFrame({ type: FrameType.RELAY_FROM, from, serverTs, payload: bytes })
      delivered =
        b.enableOfflineMessaging === true
          ? (await this.node.engine.deliverIfConnected(appId, to, frame)) === 'delivered'
          : await this.node.engine.deliver(appId, to, frame)
    } finally {
      if (!delivered) done(null)
    }
    if (delivered) {
      this.node.metrics.countRelayed('peer')
      return { state: (await acknowledged)!, serverReceivedTs: serverTs }
    }
    if (b.enableOfflineMessaging !== true) return { state: PeerMessageState.PEER_UNREACHABLE, serverReceivedTs: serverTs }
    try {
      await this.node.engine.offline.put({ appId, uid: to, from, serverTs, stream, seq: 1, payload: bytes, senderExempt: true })
    } catch (err) {
      if (!(err instanceof PlazaError && err.code === ErrorCode.QUOTA_EXCEEDED)) throw err
      this.node.metrics.offlineQuotaRefused.inc()
      return { state: PeerMessageState.OFFLINE_QUOTA_EXCEEDED, serverReceivedTs: serverTs }
    }
    this.node.metrics.offlineStored.inc()
    // The receiver may have a session that is away, or have logged in meanwhile: it gets the message now.
    this.node.background(this.node.engine.command(appId, to, { kind: 'offline' }), 'offline nudge')
    return { state: PeerMessageState.CACHED_BY_SERVER, serverReceivedTs: serverTs }
  }

  /** One copy to each member, through the node; returns how many members it went to. */
  private async channelMessage(appId: string, b: Record<string, unknown>): Promise<unknown> {
    const from = str(b.from, 'from')
    const channel = str(b.channel, 'channel')
    assertUserId(from)
    assertChannelId(channel)
    const { bytes } = this.encodeMessage(channel, this.body(b))
    const serverTs = this.node.rt.clock.now()
    const members = (await this.node.engine.channelMembers(appId, channel)).filter((m) => m.uid !== from)
    const frame = encodeFrame({ type: FrameType.RELAY_FROM, from, serverTs, payload: bytes })
    await Promise.all(members.map((m) => this.node.engine.deliver(appId, m.uid, frame)))
    this.node.metrics.countRelayed('channel', members.length)
    return { members: members.length, serverReceivedTs: serverTs }
  }

  private async writeChannelAttributes(appId: string, channel: string, b: Record<string, unknown>): Promise<unknown> {
    const op = OPS[typeof b.op === 'string' ? b.op : 'addOrUpdate']
    if (op === undefined) throw new HttpError(400, ErrorCode.INVALID_ARGUMENT, `op is one of ${Object.keys(OPS).join(', ')}`)
    const attrs = (b.attributes ?? {}) as Record<string, string>
    const keys = (b.keys ?? []) as string[]
    if (!Array.isArray(keys)) throw new HttpError(400, ErrorCode.INVALID_ARGUMENT, 'keys must be a list')
    for (const k of keys) checkAttributeKey(k)
    const by = typeof b.updatedBy === 'string' ? b.updatedBy : '_server'
    assertUserId(by)
    await this.node.channels.writeAttributesFor(appId, channel, by, op, attrs, keys, b.enableNotificationToChannelMembers === true)
    return { ok: true }
  }
}
