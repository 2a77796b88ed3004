import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { MAX_WS_FRAME_BYTES } from '@plaza/protocol'
import { handleHttp } from './http.js'
import { wsConnection } from './connection.js'
import type { RendezvousNode } from './node.js'

/** The node on the network: HTTP (health, metrics, REST, the demo) and WebSocket on one port. */
export class HttpFront {
  private readonly http: Server
  private readonly wss: WebSocketServer

  constructor(private readonly node: RendezvousNode) {
    this.http = createServer((req, res) => void handleHttp(node, req, res))
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_FRAME_BYTES })
    this.http.on('upgrade', (req, socket, head) => {
      if (node.closing) return socket.destroy()
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const remote = req.socket.remoteAddress ?? ''
        const handler = node.accept(wsConnection(ws, remote))
        ws.on('message', (data, isBinary) => {
          const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data
          handler.onMessage(bytes, isBinary)
        })
        ws.on('close', () => handler.onClose())
        ws.on('error', (err) => node.log.debug({ err, remote }, 'socket error'))
      })
    })
  }

  listen(port: number, host: string): Promise<{ port: number; address: string }> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject)
      this.http.listen(port, host, () => {
        const addr = this.http.address() as AddressInfo
        resolve({ port: addr.port, address: addr.address })
      })
    })
  }

  close(): Promise<void> {
    if (!this.http.listening) return Promise.resolve()
    return new Promise<void>((resolve) => this.http.close(() => resolve()))
  }
}
