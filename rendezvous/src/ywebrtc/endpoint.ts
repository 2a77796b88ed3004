import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import { CloseCode, ErrorCode, PlazaError, type Clock, type TimerHandle } from '@plaza/protocol'
import type { YWebrtcLimits } from '../config.js'
import { admit, type YAuthConfig } from './auth.js'
import { TopicHub } from './hub.js'
import { YWebrtcMetrics } from './metrics.js'
import { PONG, YWebrtcError, errorText, parseFrame, relayText, type RefusalReason } from './protocol.js'

/** The path the node serves y-webrtc's signaling on. */
export const YWEBRTC_PATH = '/y-webrtc'

/** Bad frames tolerated per socket per minute before it is closed (4002). */
const MAX_BAD_FRAMES = 50
/** A slow reader gets this long to take its close frame before its socket is destroyed. */
const SLOW_READER_GRACE_MS = 1000

const HTTP_STATUS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.INVALID_APP_ID]: '400 Bad Request',
  [ErrorCode.NOT_PERMITTED]: '401 Unauthorized',
  [ErrorCode.INVALID_TOKEN]: '401 Unauthorized',
  [ErrorCode.TOKEN_EXPIRED]: '401 Unauthorized',
}

/** What the endpoint takes from its node. */
export interface YWebrtcHost {
  config: YAuthConfig & { ywebrtcLimits: YWebrtcLimits; maxSocketBufferBytes: number }
  log: Logger
  registry: Registry
  /** The node's clock (injected: a simulated node that dies leaves no real timer holding it). */
  clock: Clock
  /** Gives back the connection place the node's admission counted for this address. */
  release(remote: string): void
  /** Passes a publish to the other nodes of the deployment; null when there are none (local engine). */
  toNodes: ((topic: string, text: string) => void) | null
}

/** A y-webrtc socket and what the endpoint knows of it (fields, not closures: idle sockets are many). */
export class YSocket extends WebSocket {
  endpoint: YWebrtcEndpoint | null = null
  /** Its output waits for the end of this turn (see deliver). */
  corked = false
  remote = ''
  /** The app whose topics it sees ('' for none named). */
  app = ''
  expiresAt = Infinity
  topics: Set<string> | null = null
  /** Heard from since the last ping. */
  alive = true
  windowStart = 0
  frames = 0
  badWindowStart = 0
  bad = 0
}

// One set of listeners for every socket (`this` is the YSocket the WebSocketServer made).
function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const s = this as YSocket
  s.endpoint?.onFrame(s, data, isBinary)
}
function onClose(this: WebSocket): void {
  const s = this as YSocket
  s.endpoint?.onClosed(s)
}
function onPong(this: WebSocket): void {
  ;(this as YSocket).alive = true
}
function onError(this: WebSocket, err: Error & { code?: string }): void {
  const s = this as YSocket
  s.endpoint?.onError(s, err)
}
function terminate(ws: WebSocket): void {
  ws.terminate()
}
function ignore(): void {}

/** The TCP socket under `ws` (not in its typed API). */
const tcpOf = (ws: WebSocket) => (ws as unknown as { _socket?: Socket })._socket

/** Topics are kept per app: an app id has no line feed (printable ASCII), so the first one ends it. */
const keyOf = (app: string, topic: string) => `${app}\n${topic}`

const TEXT = { binary: false }

/**
 * y-webrtc's signaling on the node's port (`/y-webrtc`): an unmodified y-webrtc provider pointed at
 * `ws(s)://node/y-webrtc` works. Beyond y-webrtc's own server: every frame parsed with its shape
 * checked (a bad one gets an error frame; many close the socket), limits (see YWebrtcLimits),
 * metrics, a Plaza token in the URL per app's policy with topics kept apart per app, and publishes
 * passed to the other nodes of a deployment.
 */
export class YWebrtcEndpoint {
  private readonly wss: WebSocketServer
  private readonly hub: TopicHub<YSocket>
  private readonly sockets = new Set<YSocket>()
  readonly metrics: YWebrtcMetrics
  private readonly limits: YWebrtcLimits
  private readonly pingTimer: TimerHandle
  /** Counted here, added to the counters when they are read (the relay path is hot). */
  private publishes = 0
  private deliveries = 0
  /** Sockets corked this turn, uncorked together at its end. */
  private corked: YSocket[] = []
  private readonly uncorkAll = () => {
    const all = this.corked
    this.corked = []
    for (const s of all) {
      s.corked = false
      tcpOf(s)?.uncork()
    }
  }
  private closing = false

  constructor(private readonly host: YWebrtcHost) {
    this.limits = host.config.ywebrtcLimits
    this.hub = new TopicHub(this.limits)
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.frameBytes, perMessageDeflate: false, clientTracking: false, WebSocket: YSocket })
    this.metrics = new YWebrtcMetrics(host.registry, () => this.stats(), () => this.flushCounts())
    this.pingTimer = host.clock.setInterval(() => this.sweep(), this.limits.pingIntervalMs, true)
  }

  /** An upgrade request on YWEBRTC_PATH that the node's admission let in. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, remote: string): void {
    const release = () => this.host.release(remote)
    socket.once('close', release)
    socket.on('error', ignore)
    admit(this.host.config, url.searchParams, this.host.clock.now()).then(
      (who) => {
        if (this.closing || socket.destroyed) return void socket.destroy()
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          socket.removeListener('close', release)
          socket.removeListener('error', ignore)
          this.open(ws as YSocket, who.app, who.expiresAt, remote)
        })
      },
      (err: unknown) => {
        const e = err instanceof PlazaError ? err : new PlazaError(ErrorCode.INTERNAL, 'internal error')
        if (e.code === ErrorCode.INTERNAL) this.host.log.error({ err }, 'y-webrtc admission failed')
        this.metrics.refuse('auth')
        const body = JSON.stringify({ error: e.codeName, message: e.message })
        const status = HTTP_STATUS[e.code] ?? '500 Internal Server Error'
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
      },
    )
  }

  private open(ws: YSocket, app: string, expiresAt: number, remote: string): void {
    ws.endpoint = this
    ws.app = app
    ws.expiresAt = expiresAt
    ws.remote = remote
    ws.on('message', onMessage)
    ws.on('close', onClose)
    ws.on('pong', onPong)
    ws.on('error', onError)
    this.sockets.add(ws)
  }

  onFrame(s: YSocket, data: RawData, isBinary: boolean): void {
    if (s.readyState !== WebSocket.OPEN) return
    s.alive = true
    const now = this.host.clock.now()
    if (now - s.windowStart >= 1000) {
      s.windowStart = now
      s.frames = 0
    }
    if (++s.frames > this.limits.framesPerSecond) {
      // Told once per second; the frames past the limit are dropped.
      if (s.frames === this.limits.framesPerSecond + 1) this.refuse(s, new YWebrtcError(ErrorCode.TOO_OFTEN, 'too-often', `at most ${this.limits.framesPerSecond} frames per second`))
      else this.metrics.refuse('too-often')
      return
    }
    if (isBinary) return this.refuse(s, new YWebrtcError(ErrorCode.MALFORMED_FRAME, 'malformed', 'binary frames are not spoken: JSON text only'))
    let f
    try {
      f = parseFrame(String(data), this.limits)
    } catch (err) {
      return this.refuse(s, err instanceof YWebrtcError ? err : new YWebrtcError(ErrorCode.MALFORMED_FRAME, 'malformed', 'bad frame'))
    }
    switch (f.type) {
      case 'ping':
        return s.send(PONG)
      case 'subscribe':
        for (const topic of f.topics) {
          const r = this.hub.subscribe(s, keyOf(s.app, topic))
          if (r === 'too-many-topics') this.refuse(s, new YWebrtcError(ErrorCode.TOO_MANY_CHANNELS, r, `at most ${this.limits.topicsPerSocket} topics per socket: not subscribed to "${topic.slice(0, 64)}"`))
          else if (r === 'topic-full') this.refuse(s, new YWebrtcError(ErrorCode.QUOTA_EXCEEDED, r, `topic "${topic.slice(0, 64)}" has its ${this.limits.subscribersPerTopic} subscribers`))
          else if (r === 'address-full') this.refuse(s, new YWebrtcError(ErrorCode.QUOTA_EXCEEDED, r, `topic "${topic.slice(0, 64)}" has its ${this.limits.subscribersPerTopicPerAddress} subscribers from your address`))
        }
        return
      case 'unsubscribe':
        for (const topic of f.topics) this.hub.unsubscribe(s, keyOf(s.app, topic))
        return
      case 'publish': {
        const key = keyOf(s.app, f.topic)
        this.publishes++
        this.deliver(key, f.text)
        this.host.toNodes?.(key, f.text)
      }
    }
  }

  /** A publish another node took, for this node's subscribers. */
  fromNode(key: string, text: string): void {
    this.publishes++
    this.deliver(key, text)
  }

  private deliver(key: string, text: string): void {
    const subs = this.hub.subscribers(key)
    if (!subs) return
    // One buffer for every subscriber (y-webrtc's server stringifies per subscriber); what one
    // subscriber gets in one turn (the publishes of one read) leaves in one write, not one each.
    const bytes = Buffer.from(relayText(text, subs.size))
    for (const r of subs) {
      if (r.readyState !== WebSocket.OPEN) continue
      if (!r.corked) {
        r.corked = true
        tcpOf(r)?.cork()
        if (this.corked.push(r) === 1) setImmediate(this.uncorkAll)
      }
      r.send(bytes, TEXT)
      this.deliveries++
      if (r.bufferedAmount > this.host.config.maxSocketBufferBytes) {
        this.metrics.refuse('slow-reader')
        r.close(CloseCode.SLOW_READER, 'slow reader')
        setTimeout(terminate, SLOW_READER_GRACE_MS, r).unref()
      }
    }
  }

  private refuse(s: YSocket, err: YWebrtcError): void {
    this.metrics.refuse(err.reason)
    if (s.readyState !== WebSocket.OPEN) return
    s.send(errorText(err))
    const now = this.host.clock.now()
    if (now - s.badWindowStart > 60_000) {
      s.badWindowStart = now
      s.bad = 0
    }
    if (++s.bad > MAX_BAD_FRAMES) s.close(CloseCode.TOO_MANY_ERRORS, 'too many bad frames')
  }

  onError(s: YSocket, err: Error & { code?: string }): void {
    // ws closes the socket itself (1009 past maxPayload, 1007 for bad UTF-8, 1002 for bad framing).
    this.metrics.refuse(err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too-large' : 'malformed')
    this.host.log.debug({ err, remote: s.remote }, 'y-webrtc socket error')
  }

  onClosed(s: YSocket): void {
    if (!this.sockets.delete(s)) return
    this.hub.drop(s)
    s.endpoint = null
    this.host.release(s.remote)
  }

  /** WebSocket-level liveness, as y-webrtc's server does it; and tokens past their expiry. */
  private sweep(): void {
    const now = this.host.clock.now()
    for (const s of this.sockets) {
      if (s.expiresAt <= now) s.close(CloseCode.TOKEN_EXPIRED, 'token expired')
      else if (!s.alive) s.terminate()
      else {
        s.alive = false
        s.ping()
      }
    }
  }

  private flushCounts(): void {
    if (this.publishes) this.metrics.publishes.inc(this.publishes)
    if (this.deliveries) this.metrics.deliveries.inc(this.deliveries)
    this.publishes = this.deliveries = 0
  }

  stats(): { sockets: number; topics: number } {
    return { sockets: this.sockets.size, topics: this.hub.size }
  }

  close(): void {
    if (this.closing) return
    this.closing = true
    this.host.clock.clearInterval(this.pingTimer)
    for (const s of this.sockets) s.close(CloseCode.GOING_AWAY, 'node shutting down')
  }
}
