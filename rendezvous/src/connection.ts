import type { Socket } from 'node:net'
import { WebSocket, type RawData } from 'ws'
import { CloseCode } from '@plaza/protocol'

/**
 * One client's socket as the node's logic sees it: frames out, close, and whether it is open.
 * `ws` in production (WsConnection); an in-memory pipe in the simulation.
 */
export interface Connection {
  readonly open: boolean
  /** Bytes queued for the peer and not yet sent. */
  readonly bufferedAmount: number
  readonly remoteAddress: string
  send(frame: Uint8Array): void
  close(code: number, reason: string): void
  /** Drops the connection without a closing handshake. */
  terminate(): void
}

/** What the node's logic does with a connection's events. */
export interface ConnectionHandler {
  onMessage(data: Uint8Array, isBinary: boolean): void
  onClose(): void
}

/** What every socket of a node shares: its limit and what to do on its events. */
export interface SocketOwner {
  /** Unsent bytes past which a socket's reader is too slow. */
  readonly maxBufferedBytes: number
  slowReader(c: WsConnection): void
  /** The socket closed (after its handler heard it). */
  closed(c: WsConnection): void
  error(c: WsConnection, err: Error): void
}

/** A slow reader gets this long to take its close frame before its socket is destroyed. */
const SLOW_READER_GRACE_MS = 1000
/**
 * Past this much unsent output a client's input is not read until the output drains: a client
 * that sends requests without reading the answers (a flood of queries, say) makes the node hold
 * its answers — as many small writes, each costing far more memory than its bytes — so it is
 * made to wait instead (an outside attack took a node from 80 MB to 900 MB with four sockets).
 */
const READ_PAUSE_BYTES = 1024 * 1024

/**
 * The node's `ws` sockets (WebSocketServer's `WebSocket` option): each knows its connection, so
 * that one set of listeners serves every socket instead of closures per socket.
 */
export class LinkedSocket extends WebSocket {
  link: WsConnection | null = null
}

const linkOf = (ws: WebSocket) => (ws as LinkedSocket).link

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data
  linkOf(this)?.handler?.onMessage(bytes, isBinary)
}

function onClose(this: WebSocket): void {
  const c = linkOf(this)
  if (!c) return
  c.handler?.onClose()
  c.owner.closed(c)
}

function onError(this: WebSocket, err: Error): void {
  const c = linkOf(this)
  if (c) c.owner.error(c, err)
}

function uncork(c: WsConnection): void {
  c.corked = false
  c.socket?.uncork()
}

function resumeReading(c: WsConnection): void {
  c.readingPaused = false
  c.resume()
}

function terminateSlow(ws: WebSocket): void {
  ws.terminate()
}

/**
 * `ws` as a Connection. A peer that does not read makes its unsent output grow: past
 * `maxBufferedBytes` the socket is closed (SLOW_READER) and destroyed shortly after, so what it
 * holds is freed; frames for its session then wait in the session's bounded queue.
 */
export class WsConnection implements Connection {
  /** Who hears the socket's frames and its close (the node, once it accepted it). */
  handler: ConnectionHandler | null = null

  constructor(
    private readonly ws: LinkedSocket,
    readonly remoteAddress: string,
    readonly owner: SocketOwner,
  ) {
    ws.link = this
    ws.on('message', onMessage)
    ws.on('close', onClose)
    ws.on('error', onError)
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount
  }

  /** Frames of this turn wait in the socket (see send). */
  corked = false
  /** Its input is not read until its output drains (see READ_PAUSE_BYTES). */
  readingPaused = false

  resume(): void {
    this.ws.resume()
  }

  /** The TCP socket under `ws` (not in its typed API). */
  get socket(): Socket | undefined {
    return (this.ws as unknown as { _socket?: Socket })._socket
  }

  send(frame: Uint8Array): void {
    const ws = this.ws
    // Frames sent to one client in the same turn (a burst of relayed messages, say) leave in one
    // write: each ws.send alone costs a system call.
    if (!this.corked) {
      this.corked = true
      this.socket?.cork()
      setImmediate(uncork, this)
    }
    ws.send(frame)
    if (ws.bufferedAmount > READ_PAUSE_BYTES && !this.readingPaused && ws.readyState === WebSocket.OPEN) {
      this.readingPaused = true
      ws.pause()
      this.socket?.once('drain', () => resumeReading(this))
    }
    if (ws.bufferedAmount > this.owner.maxBufferedBytes && ws.readyState === WebSocket.OPEN) {
      this.owner.slowReader(this)
      ws.close(CloseCode.SLOW_READER, 'slow reader')
      setTimeout(terminateSlow, SLOW_READER_GRACE_MS, ws).unref()
    }
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason)
  }

  terminate(): void {
    this.ws.terminate()
  }
}
