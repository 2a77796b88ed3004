import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import { CloseCode } from '@plaza/protocol'

/**
 * One client's socket as the node's logic sees it: frames out, close, and whether it is open.
 * `ws` in production (wsConnection); an in-memory pipe in the simulation.
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

/** A slow reader gets this long to take its close frame before its socket is destroyed. */
const SLOW_READER_GRACE_MS = 1000

/**
 * `ws` as a Connection. A peer that does not read makes its unsent output grow: past
 * `maxBufferedBytes` the socket is closed (SLOW_READER) and destroyed shortly after, so what it
 * holds is freed; frames for its session then wait in the session's bounded queue.
 */
export function wsConnection(ws: WebSocket, remoteAddress: string, maxBufferedBytes = Infinity, onSlowReader: () => void = () => undefined): Connection {
  const socket = (ws as unknown as { _socket?: Socket })._socket
  let corked = false
  const uncork = () => {
    corked = false
    socket?.uncork()
  }
  const send = (frame: Uint8Array) => {
    // Frames sent to one client in the same turn (a burst of relayed messages, say) leave in one
    // write: each ws.send alone costs a system call.
    if (!corked && socket) {
      corked = true
      socket.cork()
      setImmediate(uncork)
    }
    ws.send(frame)
    if (ws.bufferedAmount > maxBufferedBytes && ws.readyState === ws.OPEN) {
      onSlowReader()
      ws.close(CloseCode.SLOW_READER, 'slow reader')
      setTimeout(() => ws.terminate(), SLOW_READER_GRACE_MS).unref()
    }
  }
  return {
    get open() {
      return ws.readyState === ws.OPEN
    },
    get bufferedAmount() {
      return ws.bufferedAmount
    },
    remoteAddress,
    send,
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
  }
}
