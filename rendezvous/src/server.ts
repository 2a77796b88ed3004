import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { MAX_WS_FRAME_BYTES } from '@plaza/protocol'
import { handleHttp } from './http.js'
import { wsConnection } from './connection.js'
import type { RendezvousNode } from './node.js'
import { Admission, type Refusal } from './admission.js'

const REFUSED: Record<Refusal, string> = {
  'node-full': '503 Service Unavailable',
  'address-full': '503 Service Unavailable',
  'too-often': '429 Too Many Requests',
}

/** The node on the network: HTTP (health, metrics, REST, the demo) and WebSocket on one port. */
export class HttpFront {
  private readonly http: Server
  private readonly wss: WebSocketServer
  readonly admission: Admission

  constructor(private readonly node: RendezvousNode) {
    const cfg = node.config
    this.admission = new Admission(cfg)
    this.http = createServer((req, res) => void handleHttp(node, req, res))
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_FRAME_BYTES })
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
      let released = false
      const release = () => {
        if (!released) this.admission.release(remote)
        released = true
      }
      socket.once('close', release)
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const handler = node.accept(
          wsConnection(ws, remote, cfg.maxSocketBufferBytes, () => {
            node.metrics.slowReaders.inc()
            node.log.warn({ remote }, 'slow reader closed')
          }),
        )
        ws.on('message', (data, isBinary) => {
          const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data
          handler.onMessage(bytes, isBinary)
        })
        ws.on('close', () => {
          release()
          handler.onClose()
        })
        ws.on('error', (err) => node.log.debug({ err, remote }, 'socket error'))
      })
    })
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
function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy ? req.headers['x-forwarded-for'] : undefined
  const list = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded ?? '').split(',').map((a) => a.trim()).filter(Boolean)
  return list.at(-1) ?? req.socket.remoteAddress ?? ''
}
