import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { MAX_WS_FRAME_BYTES } from '@plaza/protocol'
import { handleHttp } from './http.js'
import { LinkedSocket, WsConnection, type SocketOwner } from './connection.js'
import type { RendezvousNode } from './node.js'
import { Admission, type Refusal } from './admission.js'
import { YWEBRTC_PATH } from './ywebrtc/endpoint.js'

/** A request's headers (a WebSocket upgrade's too) must be in within this. */
const HEADERS_MS = 15_000

const REFUSED: Record<Refusal, string> = {
  'node-full': '503 Service Unavailable',
  'address-full': '503 Service Unavailable',
  'too-often': '429 Too Many Requests',
}

/** The node on the network: HTTP (health, metrics, REST, the demo) and WebSocket on one port. */
export class HttpFront implements SocketOwner {
  private readonly http: Server
  private readonly wss: WebSocketServer
  readonly admission: Admission
  readonly maxBufferedBytes: number

  constructor(private readonly node: RendezvousNode) {
    const cfg = node.config
    this.admission = new Admission(cfg)
    this.maxBufferedBytes = cfg.maxSocketBufferBytes
    // No whole-request deadline (Node's requestTimeout would cut off a large upload on a slow
    // link): an upload or download is ended when no bytes move (--media-idle-timeout-ms), any
    // other request when its body is not in within REQUEST_BODY_MS (see handleHttp).
    // Headers, though, must be in within HEADERS_MS (a client sending a header line now and then
    // would hold its connection for ever).
    this.http = createServer({ requestTimeout: 0, headersTimeout: HEADERS_MS, connectionsCheckingInterval: 2_000 }, (req, res) => void handleHttp(node, req, res))
    // `Expect: 100-continue`: a media upload hears a refusal before it sends its body.
    this.http.on('checkContinue', (req, res) => void handleHttp(node, req, res))
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_FRAME_BYTES, perMessageDeflate: false, clientTracking: false, WebSocket: LinkedSocket })
    this.http.on('upgrade', (req, socket, head) => {
      if (node.closing) return socket.destroy()
      const remote = clientAddress(req, cfg.trustProxy)
      const refusal = this.admission.admit(remote, node.rt.clock.now())
      if (refusal) {
        node.metrics.connectionsRefused.inc({ reason: refusal })
        socket.on('error', () => undefined)
        socket.end(`HTTP/1.1 ${REFUSED[refusal]}\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n`)
        return
      }
      if (req.url?.startsWith(YWEBRTC_PATH)) {
        const url = new URL(req.url, 'http://localhost')
        if (url.pathname === YWEBRTC_PATH) return node.ywebrtc.handleUpgrade(req, socket, head, url, remote)
      }
      // Until the socket is a WebSocket its close gives the place back; after, the WebSocket's.
      const release = () => this.admission.release(remote)
      socket.once('close', release)
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        socket.removeListener('close', release)
        const conn = new WsConnection(ws as LinkedSocket, remote, this)
        conn.handler = node.accept(conn)
      })
    })
  }

  slowReader(c: WsConnection): void {
    this.node.metrics.slowReaders.inc()
    this.node.log.warn({ remote: c.remoteAddress }, 'slow reader closed')
  }

  closed(c: WsConnection): void {
    this.admission.release(c.remoteAddress)
  }

  error(c: WsConnection, err: Error): void {
    this.node.log.debug({ err, remote: c.remoteAddress }, 'socket error')
  }

  private sweepTimer: NodeJS.Timeout | null = null

  listen(port: number, host: string): Promise<{ port: number; address: string }> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject)
      this.http.listen(port, host, () => {
        this.sweepTimer = setInterval(() => this.admission.sweep(this.node.rt.clock.now()), 10_000).unref()
        const addr = this.http.address() as AddressInfo
        resolve({ port: addr.port, address: addr.address })
      })
    })
  }

  close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer)
    if (!this.http.listening) return Promise.resolve()
    return new Promise<void>((resolve) => this.http.close(() => resolve()))
  }
}

/** The client's address: the socket's, or behind a trusted proxy the last X-Forwarded-For entry. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy ? req.headers['x-forwarded-for'] : undefined
  const list = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded ?? '').split(',').map((a) => a.trim()).filter(Boolean)
  return list.at(-1) ?? req.socket.remoteAddress ?? ''
}
