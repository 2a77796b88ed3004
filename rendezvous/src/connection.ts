import type { WebSocket } from 'ws'

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

export function wsConnection(ws: WebSocket, remoteAddress: string): Connection {
  return {
    get open() {
      return ws.readyState === ws.OPEN
    },
    get bufferedAmount() {
      return ws.bufferedAmount
    },
    remoteAddress,
    send: (frame) => ws.send(frame),
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
  }
}
