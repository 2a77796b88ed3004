import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import pino, { type Logger } from 'pino'
import {
  CloseCode,
  ErrorCode,
  FrameType,
  MAX_WS_FRAME_BYTES,
  PROTOCOL_VERSION,
  PeerFrameType,
  PeerOnlineState,
  peekMessageChannel,
  PlazaError,
  RelayStatus,
  decodeClientFrame,
  encodeFrame,
  verifyToken,
  type ClientFrame,
  type LoginFrame,
  type RelayToFrame,
  type ServerFrame,
} from '@plaza/protocol'
import { defaultConfig, type NodeConfig } from './config.js'
import type { Engine } from './engine/engine.js'
import { LocalEngine } from './engine/local-engine.js'
import { Session, type SessionLimits } from './session.js'
import { handleHttp } from './http.js'
import { ChannelService } from './channels/channel-service.js'
import { UserAttributes } from './user-attributes.js'
import { Invitations } from './invitations.js'
import { NodeMetrics } from './metrics.js'
import { RestApi } from './rest.js'
import type { NodeContext } from './context.js'

/** Malformed frames tolerated per connection (per minute) before it is closed. */
const MAX_BAD_FRAMES = 50
const OFFLINE_CHUNK = 50

interface Connection {
  ws: WebSocket
  session: Session | null
  loggingIn: boolean
  badFrames: number
  badWindowStart: number
  loginTimer: NodeJS.Timeout | null
}

const encode = (f: ServerFrame) => encodeFrame(f)

/**
 * A rendezvous node: HTTP and WebSocket on one port. It authenticates sessions, keeps
 * presence, relays WebRTC signaling and fallback peer frames, and stores offline messages.
 * State shared between users lives behind the Engine.
 */
export class RendezvousNode implements NodeContext {
  readonly config: NodeConfig
  readonly log: Logger
  readonly engine: Engine
  readonly channels: ChannelService
  private readonly userAttributes: UserAttributes
  readonly invitations: Invitations
  readonly metrics: NodeMetrics
  readonly rest: RestApi
  private readonly http: Server
  private readonly wss: WebSocketServer
  private readonly sessions = new Map<string, Session>()
  private readonly connections = new Set<Connection>()
  private sweepTimer: NodeJS.Timeout | null = null
  private storeSweepTimer: NodeJS.Timeout | null = null
  private closing = false

  constructor(config: Partial<NodeConfig> = {}, deps: { engine?: Engine; logger?: Logger } = {}) {
    this.config = { ...defaultConfig(), ...config }
    this.log = deps.logger ?? pino({ level: this.config.logLevel, base: { node: 'rendezvous' } })
    this.engine =
      deps.engine ??
      new LocalEngine(this.config.dataDir, {
        perReceiver: this.config.offlinePerReceiver,
        retentionMs: this.config.offlineRetentionMs,
      })
    this.channels = new ChannelService(this)
    this.userAttributes = new UserAttributes(this)
    this.invitations = new Invitations(this)
    this.metrics = new NodeMetrics(() => this.stats())
    this.rest = new RestApi(this)
    this.http = createServer((req, res) => handleHttp(this, req, res))
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_FRAME_BYTES })
    this.http.on('upgrade', (req, socket, head) => {
      if (this.closing) return socket.destroy()
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req))
    })
  }

  async listen(): Promise<AddressInfo> {
    await this.engine.open()
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject)
      this.http.listen(this.config.port, this.config.host, () => resolve())
    })
    this.sweepTimer = setInterval(() => this.sweep(), 500)
    this.storeSweepTimer = setInterval(() => void this.sweepStore(), 3600_000)
    this.storeSweepTimer.unref()
    const addr = this.http.address() as AddressInfo
    this.log.info({ port: addr.port, host: addr.address, apps: Object.keys(this.config.apps) }, 'listening')
    return addr
  }

  stats() {
    return { ...this.engine.stats(), connections: this.connections.size, localSessions: this.sessions.size, documents: this.channels.docs.size }
  }

  /** The live session of a user on this node, if any. */
  userSession(appId: string, uid: string): Session | undefined {
    const s = this.engine.lookup(appId, uid)
    return s instanceof Session ? s : undefined
  }

  /** Stops accepting, tells every client to come back later, flushes the store. */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    if (this.sweepTimer) clearInterval(this.sweepTimer)
    if (this.storeSweepTimer) clearInterval(this.storeSweepTimer)
    for (const c of this.connections) c.ws.close(CloseCode.GOING_AWAY, 'node shutting down')
    await new Promise<void>((resolve) => this.http.close(() => resolve()))
    this.channels.close()
    this.invitations.close()
    await this.channels.docs.flushAll()
    for (const s of this.sessions.values()) s.dispose()
    this.sessions.clear()
    await this.engine.close()
  }

  // ---- connections -------------------------------------------------------------------

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const conn: Connection = { ws, session: null, loggingIn: false, badFrames: 0, badWindowStart: Date.now(), loginTimer: null }
    this.connections.add(conn)
    conn.loginTimer = setTimeout(() => {
      if (!conn.session) ws.close(CloseCode.LOGIN_TIMEOUT, 'no login')
    }, this.config.loginTimeoutMs)
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return this.refuse(conn, new PlazaError(ErrorCode.MALFORMED_FRAME, 'text frames are not spoken'))
      const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data
      let frame: ClientFrame
      try {
        frame = decodeClientFrame(bytes)
      } catch (err) {
        return this.refuse(conn, err)
      }
      try {
        this.onFrame(conn, frame)
      } catch (err) {
        this.log.error({ err, frame: FrameType[frame.type] }, 'frame handler failed')
        this.refuse(conn, new PlazaError(ErrorCode.INTERNAL, 'internal error'))
      }
    })
    ws.on('close', () => {
      this.connections.delete(conn)
      if (conn.loginTimer) clearTimeout(conn.loginTimer)
      const s = conn.session
      // Detach: the session stays (presence unchanged) until it resumes or the sweep ends it.
      if (s && s.socket === ws) s.socket = null
    })
    ws.on('error', (err) => this.log.debug({ err, remote: req.socket.remoteAddress }, 'socket error'))
  }

  /** Answers a bad frame with an ERROR; a connection that keeps sending them is closed. */
  private refuse(conn: Connection, err: unknown): void {
    const code = err instanceof PlazaError ? err.code : ErrorCode.MALFORMED_FRAME
    const message = err instanceof Error ? err.message : 'bad frame'
    const now = Date.now()
    if (now - conn.badWindowStart > 60_000) {
      conn.badWindowStart = now
      conn.badFrames = 0
    }
    conn.badFrames++
    this.metrics.errors.inc({ code: ErrorCode[code] ?? String(code) })
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(encode({ type: FrameType.ERROR, code, message }))
    if (conn.badFrames > MAX_BAD_FRAMES) conn.ws.close(CloseCode.TOO_MANY_ERRORS, 'too many bad frames')
  }

  private onFrame(conn: Connection, f: ClientFrame): void {
    if (f.type === FrameType.LOGIN) return void this.onLogin(conn, f)
    const s = conn.session
    if (!s || s.socket !== conn.ws) {
      return this.refuse(conn, new PlazaError(ErrorCode.NOT_LOGGED_IN, 'log in first'))
    }
    this.touch(s)
    switch (f.type) {
      case FrameType.PING:
        return s.sendNow(encode({ type: FrameType.PONG, ts: f.ts, serverTs: Date.now() }))
      case FrameType.LOGOUT:
        s.sendNow(encode({ type: FrameType.RESULT, reqId: f.reqId, code: ErrorCode.OK, message: '' }))
        this.endSession(s, true)
        return void conn.ws.close(CloseCode.LOGOUT, 'logout')
      case FrameType.RENEW_TOKEN:
        return void this.onRenewToken(s, f.reqId, f.token)
      case FrameType.QUERY_PRESENCE: {
        const err = this.checkList(f.uids, this.config.presenceQueryIds) ?? this.checkRate(s, 'presenceQueries')
        if (err) return this.result(s, f.reqId, err)
        // A query answers ONLINE or OFFLINE (SPEC): an unreachable session still exists.
        const states = this.engine
          .presenceOf(s.appId, f.uids)
          .map((st, i) => ({ uid: f.uids[i], state: st === PeerOnlineState.OFFLINE ? st : PeerOnlineState.ONLINE }))
        return s.sendNow(encode({ type: FrameType.PRESENCE_STATES, reqId: f.reqId, states }))
      }
      case FrameType.SUBSCRIBE_PRESENCE: {
        const fresh = [...new Set(f.uids)]
        const added = fresh.filter((u) => !s.subscriptions.has(u)).length
        const err =
          this.checkList(fresh, this.config.presenceSubscribeIds) ??
          this.checkRate(s, 'presenceQueries') ??
          (s.subscriptions.size + added > this.config.presenceSubscribeIds
            ? new PlazaError(ErrorCode.TOO_MANY_IDS, `at most ${this.config.presenceSubscribeIds} subscriptions`)
            : null)
        if (err) return this.result(s, f.reqId, err)
        this.engine.subscribe(s, 'presence', fresh)
        for (const u of fresh) s.subscriptions.add(u)
        const states = this.engine.presenceOf(s.appId, fresh).map((state, i) => ({ uid: fresh[i], state }))
        return s.sendNow(encode({ type: FrameType.PRESENCE_STATES, reqId: f.reqId, states }))
      }
      case FrameType.UNSUBSCRIBE_PRESENCE: {
        const err = this.checkList(f.uids, this.config.presenceSubscribeIds)
        if (err) return this.result(s, f.reqId, err)
        this.engine.unsubscribe(s, 'presence', f.uids)
        for (const u of f.uids) s.subscriptions.delete(u)
        return this.result(s, f.reqId, null)
      }
      case FrameType.SIGNAL_TO: {
        if (!s.buckets.signaling.take(Date.now())) {
          return s.sendNow(encode({ type: FrameType.ERROR, code: ErrorCode.TOO_OFTEN, message: 'signaling too often' }))
        }
        this.metrics.signaling.inc()
        const delivered =
          f.to !== s.uid && this.engine.deliver(s.appId, f.to, encode({ type: FrameType.SIGNAL_FROM, from: s.uid, data: f.data }))
        if (!delivered) s.sendNow(encode({ type: FrameType.SIGNAL_FAILED, to: f.to, code: ErrorCode.PEER_OFFLINE }))
        return
      }
      case FrameType.RELAY_TO:
        return this.onRelay(s, f)
      case FrameType.JOIN_CHANNEL:
      case FrameType.LEAVE_CHANNEL:
      case FrameType.GET_MEMBERS:
      case FrameType.GET_MEMBER_COUNTS:
      case FrameType.CHANNEL_SYNC_TO_NODE:
      case FrameType.CHANNEL_ATTRS_WRITE:
      case FrameType.CHANNEL_ATTRS_GET:
        return this.channels.handle(s, f)
      case FrameType.USER_ATTRS_WRITE:
      case FrameType.USER_ATTRS_GET:
      case FrameType.USER_ATTRS_SUBSCRIBE:
      case FrameType.USER_ATTRS_UNSUBSCRIBE:
        return this.userAttributes.handle(s, f)
      case FrameType.INVITE_SEND:
      case FrameType.INVITE_CANCEL:
      case FrameType.INVITE_ACK:
      case FrameType.INVITE_ANSWER:
        return this.invitations.handle(s, f)
      case FrameType.OFFLINE_ACK: {
        let acked = 0
        for (const id of f.ids) if (s.offlineInFlight.delete(id)) acked++
        this.metrics.offlineDelivered.inc(acked)
        this.engine.offline.remove(s.appId, s.uid, f.ids).catch((err) => this.log.error({ err }, 'offline remove failed'))
        if (s.offlineInFlight.size === 0) void this.deliverOffline(s)
        return
      }
    }
  }

  private checkList(uids: string[], max: number): PlazaError | null {
    if (uids.length === 0) return new PlazaError(ErrorCode.INVALID_ARGUMENT, 'empty list')
    if (uids.length > max) return new PlazaError(ErrorCode.TOO_MANY_IDS, `at most ${max} ids`)
    return null
  }

  checkRate(s: Session, name: keyof SessionLimits): PlazaError | null {
    return s.buckets[name].take(Date.now()) ? null : new PlazaError(ErrorCode.TOO_OFTEN, `${name} too often`)
  }

  result(s: Session, reqId: number, err: PlazaError | null): void {
    if (err) this.metrics.errors.inc({ code: err.codeName })
    s.sendNow(
      encode({ type: FrameType.RESULT, reqId, code: err ? err.code : ErrorCode.OK, message: err ? err.message : '' }),
    )
  }

  // ---- login and session lifecycle ----------------------------------------------------

  private async onLogin(conn: Connection, f: LoginFrame): Promise<void> {
    const fail = (code: ErrorCode, message: string) => {
      if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(encode({ type: FrameType.LOGIN_FAILED, code, message }))
      conn.ws.close(CloseCode.LOGIN_FAILED, message.slice(0, 100))
    }
    if (conn.session || conn.loggingIn) return this.refuse(conn, new PlazaError(ErrorCode.ALREADY_LOGGED_IN, 'already logged in'))
    if (f.version !== PROTOCOL_VERSION) {
      return fail(ErrorCode.UNSUPPORTED_VERSION, `protocol ${f.version} not supported (speaks ${PROTOCOL_VERSION})`)
    }
    const secret = this.config.apps[f.appId]
    if (secret === undefined) return fail(ErrorCode.INVALID_APP_ID, 'unknown app id')
    conn.loggingIn = true
    let exp: number
    try {
      exp = (await verifyToken(f.token, secret, { appId: f.appId, uid: f.uid })).exp * 1000
    } catch (err) {
      const e = err instanceof PlazaError ? err : new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token')
      this.log.info({ uid: f.uid, code: e.codeName }, 'login refused')
      this.metrics.logins.inc({ result: e.codeName })
      return fail(e.code, e.message)
    } finally {
      conn.loggingIn = false
    }
    if (conn.ws.readyState !== conn.ws.OPEN || this.closing) return
    if (conn.loginTimer) clearTimeout(conn.loginTimer)

    const resumable = f.resume ? this.sessions.get(f.resume) : undefined
    let s: Session
    let resumed = false
    if (resumable && !resumable.ended && resumable.appId === f.appId && resumable.uid === f.uid) {
      s = resumable
      resumed = true
      if (s.socket && s.socket !== conn.ws) s.socket.close(CloseCode.REPLACED, 'resumed elsewhere')
      s.tokenExpiresAt = exp
    } else {
      s = new Session(randomBytes(16).toString('base64url'), f.appId, f.uid, exp, this.config.rateLimits, (old, code, msg) =>
        this.kickSession(old, code, msg),
      )
      this.sessions.set(s.id, s)
      const wasOnline = this.engine.lookup(f.appId, f.uid) !== undefined
      this.engine.register(s)
      if (!wasOnline) this.publishPresence(s, PeerOnlineState.ONLINE)
    }
    s.socket = conn.ws
    conn.session = s
    this.touch(s)
    this.armTokenTimers(s)
    s.sendNow(
      encode({
        type: FrameType.LOGIN_OK,
        sessionId: s.id,
        resumed,
        serverTs: Date.now(),
        pingIntervalMs: this.config.pingIntervalMs,
        tokenExpiresAt: exp,
      }),
    )
    this.log.debug({ uid: s.uid, resumed }, 'logged in')
    this.metrics.logins.inc({ result: resumed ? 'RESUMED' : 'OK' })
    if (resumed) {
      // Offline batches in flight on the old socket are sent again.
      s.offlineInFlight.clear()
      s.ready = false
    }
    await this.deliverOffline(s)
    if (!resumed) this.invitations.onLogin(s.appId, s.uid)
  }

  private async onRenewToken(s: Session, reqId: number, token: string): Promise<void> {
    const rateErr = this.checkRate(s, 'session')
    if (rateErr) return this.result(s, reqId, rateErr)
    try {
      const claims = await verifyToken(token, this.config.apps[s.appId] ?? '', { appId: s.appId, uid: s.uid })
      s.tokenExpiresAt = claims.exp * 1000
      this.armTokenTimers(s)
      this.result(s, reqId, null)
    } catch (err) {
      this.result(s, reqId, err instanceof PlazaError ? err : new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token'))
    }
  }

  private armTokenTimers(s: Session): void {
    for (const t of s.tokenTimers) clearTimeout(t)
    s.tokenTimers = []
    const now = Date.now()
    const at = (when: number, fn: () => void) => {
      // setTimeout holds at most ~24.8 days; re-arm for longer tokens.
      const delay = Math.max(0, when - now)
      const t = setTimeout(delay > 2 ** 31 - 1 ? () => this.armTokenTimers(s) : fn, Math.min(delay, 2 ** 31 - 1))
      t.unref()
      s.tokenTimers.push(t)
    }
    const warnAt = s.tokenExpiresAt - this.config.tokenWillExpireMs
    if (warnAt > now) at(warnAt, () => s.send(encode({ type: FrameType.TOKEN_WILL_EXPIRE, expiresAt: s.tokenExpiresAt })))
    at(s.tokenExpiresAt, () => {
      this.log.info({ uid: s.uid }, 'token expired')
      s.closeWith(ErrorCode.TOKEN_EXPIRED, 'token expired', CloseCode.TOKEN_EXPIRED)
      this.endSession(s, true)
    })
  }

  private kickSession(s: Session, code: ErrorCode, message: string): void {
    this.log.info({ uid: s.uid, code: ErrorCode[code] }, 'session kicked')
    s.closeWith(code, message, code === ErrorCode.REMOTE_LOGIN ? CloseCode.REMOTE_LOGIN : CloseCode.POLICY)
    // Replaced by a newer session of the same uid: the uid stays online, so no OFFLINE event.
    this.endSession(s, code !== ErrorCode.REMOTE_LOGIN)
  }

  private endSession(s: Session, publishOffline: boolean): void {
    if (!this.sessions.has(s.id)) return
    this.sessions.delete(s.id)
    this.channels.leaveAll(s)
    if (s.userAttrs.size) this.userAttributes.published(s, true)
    this.invitations.onSessionEnd(s.appId, s.uid)
    s.dispose()
    this.engine.unregister(s)
    if (publishOffline && !this.engine.lookup(s.appId, s.uid)) {
      this.publishPresence(s, PeerOnlineState.OFFLINE)
    }
  }

  private publishPresence(s: Session, state: PeerOnlineState): void {
    this.engine.publish('presence', s.appId, s.uid, encode({ type: FrameType.PRESENCE_STATES, reqId: 0, states: [{ uid: s.uid, state }] }))
  }

  private touch(s: Session): void {
    s.lastContact = Date.now()
    if (s.presence === PeerOnlineState.UNREACHABLE) {
      s.presence = PeerOnlineState.ONLINE
      this.publishPresence(s, PeerOnlineState.ONLINE)
    }
  }

  /** Liveness: UNREACHABLE after a short silence, OFFLINE (session ended) after a long one. */
  private sweep(): void {
    const now = Date.now()
    for (const s of this.sessions.values()) {
      const idle = now - s.lastContact
      if (idle >= this.config.offlineAfterMs) {
        this.log.debug({ uid: s.uid }, 'session timed out')
        if (s.socket) s.socket.terminate()
        this.endSession(s, true)
      } else if (idle >= this.config.unreachableAfterMs && s.presence === PeerOnlineState.ONLINE) {
        s.presence = PeerOnlineState.UNREACHABLE
        this.publishPresence(s, PeerOnlineState.UNREACHABLE)
      }
    }
  }

  private async sweepStore(): Promise<void> {
    try {
      const n = await this.engine.offline.sweepExpired()
      if (n) this.log.info({ n }, 'expired offline messages removed')
      const docs = await this.engine.docs.sweep(Date.now() - this.config.channelRetentionMs, (appId, channel) =>
        this.engine.channelCount(appId, channel) > 0,
      )
      if (docs) this.log.info({ docs }, 'channel documents past retention removed')
    } catch (err) {
      this.log.error({ err }, 'offline sweep failed')
    }
  }

  // ---- relay and offline store ---------------------------------------------------------

  private onRelay(s: Session, f: RelayToFrame): void {
    const kind = f.payload[0]
    const isMessage = kind === PeerFrameType.MESSAGE
    const reply = (status: RelayStatus) => {
      if (f.reqId) s.sendNow(encode({ type: FrameType.RELAY_RESULT, reqId: f.reqId, status, serverTs }))
    }
    if (!isMessage && kind !== PeerFrameType.ACK) {
      return this.result(s, f.reqId, new PlazaError(ErrorCode.INVALID_ARGUMENT, 'only messages and acknowledgements are relayed'))
    }
    if (f.to === s.uid) return this.result(s, f.reqId, new PlazaError(ErrorCode.INVALID_USER_ID, 'cannot relay to yourself'))
    // A channel message goes only between members of that channel, on the channel's budget.
    const channel = isMessage ? peekMessageChannel(f.payload) : ''
    if (channel) {
      if (!s.channels.has(channel) || !this.engine.isMember(s.appId, channel, f.to)) {
        return this.result(s, f.reqId, new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'sender and receiver must both be members'))
      }
      if (!s.buckets.channelRelay.take(Date.now())) {
        return this.result(s, f.reqId, new PlazaError(ErrorCode.TOO_OFTEN, 'channel messages too often'))
      }
    } else if (!(isMessage ? s.buckets.messages : s.buckets.channelRelay).take(Date.now())) {
      return this.result(s, f.reqId, new PlazaError(ErrorCode.TOO_OFTEN, 'messages too often'))
    }
    // Acknowledgements of messages the node sent for an app's server (REST) end here.
    if (!isMessage && this.rest.onAck(f.payload)) return
    const serverTs = Date.now()
    const frame = encode({ type: FrameType.RELAY_FROM, from: s.uid, serverTs, payload: f.payload })
    if (this.engine.deliver(s.appId, f.to, frame)) {
      this.metrics.relayed.inc({ kind: channel ? 'channel' : isMessage ? 'peer' : 'ack' })
      return reply(RelayStatus.RELAYED)
    }
    if (!f.offline || !isMessage || channel) return reply(RelayStatus.PEER_OFFLINE)
    // Copy: the payload is a view into the socket's receive buffer.
    const payload = Uint8Array.prototype.slice.call(f.payload)
    this.engine.offline.put(s.appId, f.to, s.uid, serverTs, payload).then(
      () => {
        this.metrics.offlineStored.inc()
        const receiver = this.engine.lookup(s.appId, f.to)
        if (receiver instanceof Session) void this.deliverOffline(receiver)
        reply(RelayStatus.STORED)
      },
      (err) => {
        this.log.error({ err }, 'offline store write failed')
        this.result(s, f.reqId, new PlazaError(ErrorCode.INTERNAL, 'offline store unavailable'))
      },
    )
  }

  /**
   * Hands stored messages to a session, oldest first, before any live frame (the session is
   * not `ready` until then). Messages stay stored until the client acknowledges them.
   */
  private async deliverOffline(s: Session): Promise<void> {
    if (s.offlineLoading) {
      s.offlineAgain = true
      return
    }
    s.offlineLoading = true
    try {
      do {
        s.offlineAgain = false
        const msgs = (await this.engine.offline.list(s.appId, s.uid, this.config.offlinePerReceiver)).filter(
          (m) => !s.offlineInFlight.has(m.id),
        )
        if (s.ended || !s.socket) break
        for (let i = 0; i < msgs.length; i += OFFLINE_CHUNK) {
          const chunk = msgs.slice(i, i + OFFLINE_CHUNK)
          for (const m of chunk) s.offlineInFlight.add(m.id)
          s.sendNow(encode({ type: FrameType.OFFLINE_MESSAGES, messages: chunk }))
        }
      } while (s.offlineAgain)
    } catch (err) {
      this.log.error({ err, uid: s.uid }, 'offline delivery failed')
    } finally {
      s.offlineLoading = false
      if (!s.ready && !s.ended) {
        s.ready = true
        s.flush()
      }
    }
  }
}
