import {
  CloseCode,
  ConnectionChangeReason as Reason,
  ConnectionState as State,
  ErrorCode,
  FrameType,
  MAX_BATCH_FRAMES,
  MAX_WS_FRAME_BYTES,
  PROTOCOL_VERSION,
  PlazaError,
  RelayStatus,
  decodeServerFrame,
  deferOn,
  encodeFrame,
  peekRequestId,
  type ClientFrame,
  type NodeOverlayKey,
  type ServerFrame,
  type TimerHandle,
} from '@plaza/protocol'
import { Emitter } from '../emitter.js'
import type { Runtime } from '../runtime.js'

/** A BATCH's own bytes besides its frames' (tag, count). */
const BATCH_OVERHEAD = 8

/** The subset of the WebSocket API we use; the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  binaryType: string
  readyState: number
  onopen: ((ev: unknown) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  /** Bytes sent and not yet handed to the network (browsers' WebSocket and ws both have it). */
  readonly bufferedAmount?: number
}
export type WebSocketConstructor = new (url: string) => WebSocketLike

export interface SignalingOptions {
  /** The rendezvous nodes of a deployment: one is used at a time; after a loss the next is tried. */
  urls: string[]
  appId: string
  WebSocket: WebSocketConstructor
  /** Login must complete within this time. Default 10 s. */
  loginTimeoutMs: number
  /** A request without an answer in this time fails with TIMEOUT. Default 10 s. */
  requestTimeoutMs: number
  /** Reconnect backoff: first delay and cap, ms (each with ±50 % jitter). Defaults 500 / 5 000. */
  reconnectMinMs: number
  reconnectMaxMs: number
}

type SessionEvents = {
  state: [State, Reason]
  /**
   * Logged in (again). `resumed`: the node kept our session, subscriptions and all;
   * `resync`: but frames queued for it were lost, so what they carried must be fetched again.
   */
  ready: [{ resumed: boolean; resync: boolean }]
  frame: [ServerFrame]
  /** A frame from the node that could not be decoded and answered no pending request. */
  protocolError: [PlazaError]
  tokenWillExpire: []
  tokenExpired: []
}

interface PendingRequest {
  resolve: (f: ServerFrame) => void
  reject: (e: PlazaError) => void
  /** When it fails with TIMEOUT (one sweep for all requests, not a timer each). */
  deadline: number
}

/** Request timeouts are checked at most this often (a TIMEOUT may come this much late). */
const SWEEP_MIN_MS = 100

const OPEN = 1

/**
 * One WebSocket session to the rendezvous: login, keepalive, reconnect with backoff and
 * jitter, session resume, and request/response with timeouts.
 */
export class SignalingSession extends Emitter<SessionEvents> {
  state: State = State.DISCONNECTED
  uid = ''
  private token = ''
  private ws: WebSocketLike | null = null
  private sessionId = ''
  private nextReqId = 1
  private readonly requests = new Map<number, PendingRequest>()
  private pingTimer: TimerHandle | null = null
  private reconnectTimer: TimerHandle | null = null
  /** Which of `urls` is in use. */
  private urlIndex = 0
  /** Nodes tried for the login under way. */
  private firstTries = 0
  private loginTimer: TimerHandle | null = null
  private lastHeard = 0
  private pingIntervalMs = 2000
  private attempts = 0
  tokenExpiresAt = 0
  /** Offset to add to the local clock to get the node's. */
  clockOffset = 0
  /** The key the node certifies channel overlay members with (protocol 4 nodes), from the last LOGIN_OK. */
  nodeKey: NodeOverlayKey | null = null
  private loginWaiter: { resolve: () => void; reject: (e: PlazaError) => void } | null = null
  /** Frames sent after the first in this turn, and the socket they are for (see send); null when none was sent yet. */
  private batch: { ws: WebSocketLike; frames: Uint8Array[]; bytes: number } | null = null

  constructor(
    private readonly opts: SignalingOptions,
    private readonly rt: Runtime,
  ) {
    super()
  }

  get connected(): boolean {
    return this.state === State.CONNECTED
  }

  login(uid: string, token: string): Promise<void> {
    if (this.state !== State.DISCONNECTED && this.state !== State.ABORTED) {
      return Promise.reject(new PlazaError(ErrorCode.ALREADY_LOGGED_IN, `cannot log in while ${this.state}`))
    }
    this.uid = uid
    this.token = token
    this.sessionId = ''
    this.attempts = 0
    this.firstTries = 0
    this.setState(State.CONNECTING, Reason.LOGIN)
    return new Promise((resolve, reject) => {
      this.loginWaiter = { resolve, reject }
      this.open()
    })
  }

  async logout(): Promise<void> {
    if (this.state === State.DISCONNECTED) return
    if (this.connected) {
      await this.request((reqId) => ({ type: FrameType.LOGOUT, reqId }), 3000).catch(() => undefined)
    }
    this.shutdown(State.DISCONNECTED, Reason.LOGOUT)
  }

  /** The node this session talks to (or last tried) and the token it logs in with (media store requests use both). */
  get endpoint(): { url: string; token: string } {
    return { url: this.opts.urls[this.urlIndex], token: this.token }
  }

  setToken(token: string): void {
    this.token = token
  }

  /**
   * Sends a frame; false if not connected (the caller decides whether to retry). The first frame
   * of a turn leaves at once; what follows it in the same turn leaves at its end in one BATCH
   * (one WebSocket message instead of many: a burst of messages costs the socket, the node and
   * the network one frame).
   */
  send(frame: ClientFrame): boolean {
    if (!this.connected || !this.ws || this.ws.readyState !== OPEN) return false
    const bytes = encodeFrame(frame)
    if (this.batch?.ws === this.ws) {
      this.batch.frames.push(bytes)
      this.batch.bytes += bytes.length
      return true
    }
    this.ws.send(bytes)
    const batch = (this.batch = { ws: this.ws, frames: [], bytes: 0 })
    deferOn(this.rt, () => this.flushBatch(batch))
    return true
  }

  /** Bytes sent and not yet on the network: the socket's buffer and this turn's batch. */
  get pendingBytes(): number {
    return (this.ws?.bufferedAmount ?? 0) + (this.batch?.ws === this.ws ? this.batch.bytes : 0)
  }

  private flushBatch(batch: { ws: WebSocketLike; frames: Uint8Array[] }): void {
    const { ws, frames } = batch
    if (this.batch === batch) this.batch = null
    // A socket that closed meanwhile takes them with it, as it would have had they left at once.
    if (ws.readyState !== OPEN) return
    for (let i = 0; i < frames.length; ) {
      let bytes = BATCH_OVERHEAD
      let j = i
      while (j < frames.length && j - i < MAX_BATCH_FRAMES && (j === i || bytes + frames[j].length + 5 <= MAX_WS_FRAME_BYTES)) bytes += frames[j++].length + 5
      ws.send(j - i === 1 ? frames[i] : encodeFrame({ type: FrameType.BATCH, frames: frames.slice(i, j) }))
      i = j
    }
  }

  /**
   * Sends a request frame built with a fresh reqId and waits for the frame that answers it.
   * Rejects NOT_CONNECTED if it could not be sent; CONNECTION_LOST or TIMEOUT if it was sent
   * but no answer came (the node may or may not have acted on it).
   */
  request(build: (reqId: number) => ClientFrame, timeoutMs = this.opts.requestTimeoutMs): Promise<ServerFrame> {
    if (this.destroyed) return Promise.reject(new PlazaError(ErrorCode.DESTROYED, 'this client was destroyed'))
    const reqId = this.nextReqId++
    if (this.nextReqId > 2 ** 31) this.nextReqId = 1
    return new Promise((resolve, reject) => {
      if (!this.send(build(reqId))) return reject(new PlazaError(ErrorCode.NOT_CONNECTED, 'not connected'))
      const deadline = this.rt.clock.now() + timeoutMs
      this.requests.set(reqId, { resolve, reject, deadline })
      this.armSweep(deadline)
    })
  }

  private sweepTimer: TimerHandle | null = null
  private sweepAt = Infinity

  private armSweep(at: number): void {
    if (this.sweepTimer && this.sweepAt <= at) return
    this.rt.clock.clearTimeout(this.sweepTimer)
    this.sweepAt = at
    this.sweepTimer = this.rt.clock.setTimeout(() => this.sweep(), Math.max(0, at - this.rt.clock.now()))
  }

  /** Fails the requests past their deadline with TIMEOUT; comes back for the next one. */
  private sweep(): void {
    this.sweepTimer = null
    this.sweepAt = Infinity
    const now = this.rt.clock.now()
    let next = Infinity
    for (const [id, req] of this.requests) {
      if (req.deadline <= now) {
        this.requests.delete(id)
        req.reject(new PlazaError(ErrorCode.TIMEOUT, 'request timed out'))
      } else next = Math.min(next, req.deadline)
    }
    if (next !== Infinity) this.armSweep(Math.max(next, now + SWEEP_MIN_MS))
  }

  private destroyed = false

  /** The client is being destroyed: requests refuse (a logout under way still goes). */
  destroy(): void {
    this.destroyed = true
  }

  /** Closes for good (no reconnect). */
  shutdown(state: State, reason: Reason): void {
    this.clearTimers()
    this.failRequests(new PlazaError(ErrorCode.CONNECTION_LOST, 'session closed'))
    this.discardSocket(1000, reason)
    this.sessionId = ''
    if (this.loginWaiter) {
      this.loginWaiter.reject(new PlazaError(ErrorCode.NOT_CONNECTED, `login ended: ${reason}`))
      this.loginWaiter = null
    }
    this.setState(state, reason)
  }

  private setState(state: State, reason: Reason): void {
    if (this.state === state && reason !== Reason.LOGIN_SUCCESS) return
    this.state = state
    this.emit('state', state, reason)
  }

  private open(): void {
    let ws: WebSocketLike
    try {
      ws = new this.opts.WebSocket(this.opts.urls[this.urlIndex])
    } catch (err) {
      return this.onLost(new PlazaError(ErrorCode.NOT_CONNECTED, String(err)))
    }
    this.ws = ws
    ws.binaryType = 'arraybuffer'
    ws.onopen = () => {
      ws.send(
        encodeFrame({
          type: FrameType.LOGIN,
          version: PROTOCOL_VERSION,
          appId: this.opts.appId,
          uid: this.uid,
          token: this.token,
          resume: this.sessionId,
        }),
      )
    }
    ws.onmessage = (ev) => this.onMessage(ev.data)
    ws.onclose = (ev) => {
      if (this.ws !== ws) return
      this.onLost(new PlazaError(ErrorCode.NOT_CONNECTED, `socket closed (${ev.code})`))
    }
    ws.onerror = () => {
      /* onclose follows */
    }
    this.loginTimer = this.rt.clock.setTimeout(() => {
      if (this.ws === ws) this.onLoginTimeout()
    }, this.opts.loginTimeoutMs)
  }

  private onLoginTimeout(): void {
    if (this.state === State.CONNECTING) {
      return this.failFirstLogin(Reason.LOGIN_TIMEOUT, new PlazaError(ErrorCode.TIMEOUT, 'login timed out'))
    }
    this.onLost(new PlazaError(ErrorCode.TIMEOUT, 'login timed out'))
  }

  private onMessage(data: unknown): void {
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) return
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    this.lastHeard = this.rt.clock.now()
    let f: ServerFrame
    try {
      f = decodeServerFrame(bytes)
    } catch (err) {
      // Never a silent timeout: the request this answered (if any) fails with the codec's code.
      const e = err instanceof PlazaError ? err : new PlazaError(ErrorCode.MALFORMED_FRAME, String(err))
      const req = this.requests.get(peekRequestId(bytes))
      if (req) {
        this.requests.delete(peekRequestId(bytes))
        req.reject(e)
      } else this.emit('protocolError', e)
      return
    }
    switch (f.type) {
      case FrameType.LOGIN_OK:
        this.nodeKey = f.nodeKey ?? null
        return this.onLoginOk(f.sessionId, f.resumed, f.resync, f.pingIntervalMs, f.serverTs, f.tokenExpiresAt)
      case FrameType.LOGIN_FAILED:
        return this.onLoginFailed(new PlazaError(f.code, f.message))
      case FrameType.KICKED: {
        const reason =
          f.code === ErrorCode.REMOTE_LOGIN
            ? Reason.REMOTE_LOGIN
            : f.code === ErrorCode.TOKEN_EXPIRED
              ? Reason.TOKEN_EXPIRED
              : Reason.BANNED_BY_SERVER
        if (reason === Reason.TOKEN_EXPIRED) this.emit('tokenExpired')
        return this.shutdown(State.ABORTED, reason)
      }
      case FrameType.TOKEN_WILL_EXPIRE:
        return this.emit('tokenWillExpire')
      case FrameType.PONG:
        this.clockOffset = f.serverTs - Math.round((f.ts + this.rt.clock.now()) / 2)
        return
      case FrameType.RELAYED:
        for (const reqId of f.reqIds) this.answer(reqId, { type: FrameType.RELAY_RESULT, reqId, status: RelayStatus.RELAYED, serverTs: f.serverTs })
        return
      default:
        // Answers carry the reqId of their request; reqId 0 (or none) is an event.
        if ('reqId' in f && f.reqId !== 0) return this.answer(f.reqId, f)
        return this.emit('frame', f)
    }
  }

  private answer(reqId: number, f: ServerFrame): void {
    const req = this.requests.get(reqId)
    if (!req) return
    this.requests.delete(reqId)
    if (f.type === FrameType.RESULT && f.code !== ErrorCode.OK) req.reject(new PlazaError(f.code, f.message))
    else req.resolve(f)
  }

  private onLoginOk(sessionId: string, resumed: boolean, resync: boolean, pingIntervalMs: number, serverTs: number, exp: number): void {
    this.rt.clock.clearTimeout(this.loginTimer)
    this.loginTimer = null
    this.sessionId = sessionId
    this.attempts = 0
    this.tokenExpiresAt = exp
    this.clockOffset = serverTs - this.rt.clock.now()
    this.pingIntervalMs = Math.max(250, pingIntervalMs)
    this.startKeepalive()
    this.setState(State.CONNECTED, Reason.LOGIN_SUCCESS)
    this.emit('ready', { resumed, resync })
    if (this.loginWaiter) {
      this.loginWaiter.resolve()
      this.loginWaiter = null
    }
  }

  /** The first login (not a reconnect) failed: DISCONNECTED with `reason`, login() rejects with `err`. */
  private failFirstLogin(reason: Reason, err: PlazaError): void {
    const waiter = this.loginWaiter
    this.loginWaiter = null
    this.shutdown(State.DISCONNECTED, reason)
    waiter?.reject(err)
  }

  private onLoginFailed(err: PlazaError): void {
    if (this.state === State.CONNECTING) return this.failFirstLogin(Reason.LOGIN_FAILURE, err)
    // While reconnecting: a token that no longer works ends the session; anything else retries.
    if (err.code === ErrorCode.TOKEN_EXPIRED) {
      this.emit('tokenExpired')
      return this.shutdown(State.ABORTED, Reason.TOKEN_EXPIRED)
    }
    if (err.code === ErrorCode.INVALID_TOKEN || err.code === ErrorCode.INVALID_APP_ID) {
      return this.shutdown(State.ABORTED, Reason.LOGIN_FAILURE)
    }
    this.onLost(err)
  }

  private startKeepalive(): void {
    const clock = this.rt.clock
    clock.clearInterval(this.pingTimer)
    this.lastHeard = clock.now()
    const deadAfter = Math.max(3 * this.pingIntervalMs, 1000)
    let lastCheck = clock.now()
    this.pingTimer = clock.setInterval(() => {
      const now = clock.now()
      // A check that comes late means this process stood still (suspended, say): what the node
      // sent meanwhile is waiting to be read, so silence is judged at the next check, not now.
      const stalled = now - lastCheck > 2 * this.pingIntervalMs
      lastCheck = now
      if (!stalled && now - this.lastHeard > deadAfter) {
        this.onLost(new PlazaError(ErrorCode.TIMEOUT, 'no answer from the rendezvous'))
        return
      }
      this.send({ type: FrameType.PING, ts: clock.now() })
    }, this.pingIntervalMs)
  }

  /** The socket is gone or silent: reconnect with backoff, unless we never logged in. */
  private onLost(err: PlazaError): void {
    if (this.state === State.CONNECTING) {
      // Not reached: the other nodes of the list are tried once each before the login fails.
      if (++this.firstTries < this.opts.urls.length) {
        this.discardSocket(CloseCode.GOING_AWAY, 'connection lost')
        this.nextUrl()
        return this.open()
      }
      return this.failFirstLogin(Reason.LOGIN_FAILURE, err)
    }
    if (this.state !== State.CONNECTED && this.state !== State.RECONNECTING) return
    this.clearTimers()
    this.failRequests(new PlazaError(ErrorCode.CONNECTION_LOST, 'connection lost'))
    this.discardSocket(CloseCode.GOING_AWAY, 'connection lost')
    this.setState(State.RECONNECTING, Reason.INTERRUPTED)
    const base = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** this.attempts)
    const delay = base * (0.5 + this.rt.random())
    this.attempts = Math.min(this.attempts + 1, 16)
    this.reconnectTimer = this.rt.clock.setTimeout(() => {
      this.reconnectTimer = null
      // The node may be gone for good: the next one of the list (a resume works on any node of a deployment).
      this.nextUrl()
      this.open()
    }, delay)
  }

  private nextUrl(): void {
    this.urlIndex = (this.urlIndex + 1) % this.opts.urls.length
  }

  /** Closes the socket and stops listening to it; ws reports closing a connecting socket as an error. */
  private discardSocket(code: number, reason: string): void {
    const ws = this.ws
    this.ws = null
    if (!ws) return
    const ignore = () => undefined
    ws.onclose = ws.onmessage = ws.onopen = null
    ws.onerror = ignore
    try {
      ws.close(code, reason)
    } catch {
      /* already closed */
    }
  }

  private failRequests(err: PlazaError): void {
    for (const [id, req] of this.requests) {
      req.reject(err)
      this.requests.delete(id)
    }
    this.rt.clock.clearTimeout(this.sweepTimer)
    this.sweepTimer = null
    this.sweepAt = Infinity
  }

  private clearTimers(): void {
    this.rt.clock.clearInterval(this.pingTimer)
    this.rt.clock.clearTimeout(this.reconnectTimer)
    this.rt.clock.clearTimeout(this.loginTimer)
    this.pingTimer = this.reconnectTimer = this.loginTimer = null
  }
}
