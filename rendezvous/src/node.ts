import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import pino, { type Logger } from 'pino'
import {
  CloseCode,
  ErrorCode,
  FrameType,
  PeerOnlineState,
  PlazaError,
  decodeClientFrame,
  encodeFrame,
  type ClientFrame,
  type ServerFrame,
  type TimerHandle,
} from '@plaza/protocol'
import { defaultConfig, type NodeConfig } from './config.js'
import type { Engine, OrphanedSession, SessionCommand } from './engine/engine.js'
import { LocalEngine } from './engine/local-engine.js'
import { RedisEngine } from './engine/redis-engine.js'
import { redisStores } from './engine/redis-stores.js'
import { openDatabase } from './store/database.js'
import type { Session, SessionLimits } from './session.js'
import { ChannelService } from './channels/channel-service.js'
import { UserAttributes } from './user-attributes.js'
import { Invitations } from './invitations.js'
import { NodeMetrics } from './metrics.js'
import { RestApi } from './rest.js'
import type { NodeContext } from './context.js'
import type { Connection, ConnectionHandler } from './connection.js'
import { systemNodeRuntime, type NodeRuntime } from './runtime.js'
import { Client, SessionService, type ClientConn, type ClientEvents } from './sessions.js'
import { RelayService } from './relay.js'
import { HttpFront } from './server.js'
import { Moderation } from './moderation.js'
import { decodeNodeMessage, encodeNodeMessage } from './node-messages.js'
import { MediaHttp } from './media/media-http.js'
import { YWebrtcEndpoint } from './ywebrtc/endpoint.js'

/** Malformed frames tolerated per connection (per minute) before it is closed. */
const MAX_BAD_FRAMES = 50
/** Frames read from a connection and waiting for the one before them (engine calls under way). */
const MAX_BACKLOG_FRAMES = 4096

const encode = (f: ServerFrame) => encodeFrame(f)

export interface NodeDeps {
  engine?: Engine
  logger?: Logger
  /** Time, randomness and token checks; a simulation passes its own. */
  runtime?: NodeRuntime
}

/**
 * A rendezvous node. Its logic takes connections (`accept`) and frames; `listen()` puts it on
 * HTTP and WebSocket on one port. It authenticates sessions, keeps presence, relays WebRTC
 * signaling and fallback peer frames, and stores offline messages. State shared between users
 * lives behind the Engine.
 */
export class RendezvousNode implements NodeContext {
  readonly config: NodeConfig
  readonly log: Logger
  readonly engine: Engine
  readonly rt: NodeRuntime
  readonly channels: ChannelService
  readonly sessions: SessionService
  readonly relay: RelayService
  private readonly userAttributes: UserAttributes
  readonly invitations: Invitations
  readonly metrics: NodeMetrics
  readonly moderation: Moderation
  readonly rest: RestApi
  /** The media store and its HTTP API (opened by `listen`). */
  readonly media: MediaHttp
  /** y-webrtc's signaling on /y-webrtc. */
  readonly ywebrtc: YWebrtcEndpoint
  private readonly front: HttpFront
  private readonly connections = new Set<ClientConn>()
  private sweepTimer: TimerHandle | null = null
  private storeSweepTimer: TimerHandle | null = null
  private mediaSweepTimer: TimerHandle | null = null
  closing = false

  constructor(config: Partial<NodeConfig> = {}, deps: NodeDeps = {}) {
    this.config = { ...defaultConfig(), ...config }
    this.rt = deps.runtime ?? systemNodeRuntime
    this.log = deps.logger ?? pino({ level: this.config.logLevel, base: { node: 'rendezvous' } })
    this.engine = deps.engine ?? this.makeEngine()
    this.metrics = new NodeMetrics(() => this.stats(), this.config.processMetrics)
    this.moderation = new Moderation(this, { leaveChannel: (s, channel) => this.channels.leave(s, channel) })
    this.channels = new ChannelService(this)
    this.userAttributes = new UserAttributes(this)
    this.invitations = new Invitations(this)
    this.rest = new RestApi(this)
    this.media = new MediaHttp(this, this.engine.shared)
    this.relay = new RelayService(this, {
      onNodeStreamAck: (payload) => this.rest.onAck(payload),
      holdMedia: (appId, info, until) => this.media.holdFor(appId, info, until),
    })
    this.sessions = new SessionService(this, {
      deliverOffline: (s) => this.relay.deliverOffline(s),
      onEnded: (s) => {
        this.channels.leaveAll(s)
        if (s.hasUserAttrs) this.userAttributes.published(s, true)
        this.invitations.onSessionEnd(s.appId, s.uid)
      },
      onFreshLogin: (s) => this.invitations.onLogin(s.appId, s.uid),
      onResync: (s) => this.invitations.redeliver(s.appId, s.uid),
      nodeKey: (appId) => this.channels.overlay.keys.of(appId)?.key,
    })
    this.front = new HttpFront(this)
    const engine = this.engine
    this.ywebrtc = new YWebrtcEndpoint({
      config: this.config,
      log: this.log,
      registry: this.metrics.registry,
      clock: this.rt.clock,
      release: (remote) => this.front.admission.release(remote),
      toNodes: engine.shared
        ? (topic, text) => this.background(engine.toNodes(encodeNodeMessage({ kind: 'ywebrtc', from: engine.nodeId, topic, text })), 'y-webrtc publish to other nodes')
        : null,
    })
  }

  private makeEngine(): Engine {
    const cfg = this.config
    const offline = { perReceiver: cfg.offlinePerReceiver, retentionMs: cfg.offlineRetentionMs, perSender: cfg.offlineQuotaPerSender, perApp: cfg.offlineQuotaPerApp }
    const now = () => this.rt.clock.now()
    if (cfg.engine === 'local') return new LocalEngine(openDatabase(cfg.dataDir), offline, now)
    // Each start is a new node to the others (its earlier sessions are ended by them after the
    // offline window), so a name given with --node-id gets a suffix of its own per start.
    const nodeId = `${cfg.nodeId || `${hostname()}-${process.pid}`}.${randomBytes(3).toString('hex')}`
    return new RedisEngine({ url: cfg.redisUrl, prefix: cfg.redisPrefix, nodeId, offlineAfterMs: cfg.offlineAfterMs, stores: redisStores(offline, now) })
  }

  /** Opens the store, starts the timers and listens on HTTP and WebSocket. */
  async listen(): Promise<{ port: number; address: string }> {
    await this.start()
    await this.media.open()
    let sweeping = false
    this.mediaSweepTimer = this.rt.clock.setInterval(
      () => {
        if (sweeping) return
        sweeping = true
        this.media
          .sweep()
          .catch((err: unknown) => this.log.error({ err }, 'media sweep failed'))
          .finally(() => (sweeping = false))
      },
      this.media.sweepIntervalMs(),
      true,
    )
    const addr = await this.front.listen(this.config.port, this.config.host)
    this.log.info({ port: addr.port, host: addr.address, apps: Object.keys(this.config.apps) }, 'listening')
    return addr
  }

  /** Opens the store and starts the timers (no listening: `accept` connections yourself). */
  async start(): Promise<void> {
    await this.engine.open({
      frame: (sessionId, frame) => this.sessions.get(sessionId)?.send(frame),
      command: (sessionId, cmd) => this.onCommand(sessionId, cmd),
      nodeMessage: (message) => this.onNodeMessage(message),
      orphaned: (o) => this.endOrphan(o),
    })
    if (this.engine instanceof RedisEngine) {
      const problems = await this.engine.durabilityProblems()
      const what = `Redis does not fsync every write, so CACHED_BY_SERVER and stored attributes may be lost with it: ${problems.join('; ')}`
      if (problems.length && this.config.redisRequireAof) {
        await this.engine.close()
        throw new Error(`${what} (--redis-require-aof)`)
      }
      if (problems.length) this.log.warn(what)
      this.log.info({ nodeId: this.engine.nodeId, redis: this.config.redisUrl }, 'redis engine')
    }
    this.sweepTimer = this.rt.clock.setInterval(() => {
      this.sessions.sweep()
      this.background(this.moderation.sweep(), 'moderation sweep')
    }, 500)
    this.storeSweepTimer = this.rt.clock.setInterval(() => void this.sweepStore(), 3600_000, true)
  }

  stats() {
    return { ...this.engine.stats(), mediaBytes: this.media.store.usage.totalStored(), connections: this.connections.size, localSessions: this.sessions.size, documents: this.channels.docs.size, engineUp: this.engine.health().ok }
  }

  /** What the engine asks of one of this node's sessions. */
  private onCommand(sessionId: string, cmd: SessionCommand): void {
    const s = this.sessions.get(sessionId)
    if (!s) return
    if (cmd.kind === 'end') s.kick(cmd.code, cmd.message)
    else if (cmd.kind === 'leave') this.moderation.removedHere(s, cmd.channel)
    else if (cmd.kind === 'invite') this.invitations.fromCallee(s.appId, s.uid, cmd.from, cmd.frame)
    else if (s.socket && s.presence === PeerOnlineState.ONLINE) {
      // Stored for it while it looked away (or a lost write left its record so): it is here.
      this.background(this.engine.setConnected(s.appId, s.uid, s.id, true), 'connected')
      void this.relay.deliverOffline(s)
    }
    // Detached: its resume lists the store. Silent (UNREACHABLE): it does once it speaks again (Sessions.touch).
  }

  /** What another node tells every node (see node-messages.ts). */
  private onNodeMessage(bytes: Uint8Array): void {
    const m = decodeNodeMessage(bytes)
    if (m?.kind === 'ack') this.rest.onAckFromNode(m.payload)
    else if (m?.kind === 'awareness' && m.from !== this.engine.nodeId) this.channels.awarenessElsewhere(m.appId, m.channel, m.owner, m.payload)
    else if (m?.kind === 'ywebrtc' && m.from !== this.engine.nodeId) this.ywebrtc.fromNode(m.topic, m.text)
  }

  /** A dead node's session that never came back: it leaves its channels, goes OFFLINE, its attributes go. */
  private async endOrphan(o: OrphanedSession): Promise<void> {
    for (const channel of o.channels) await this.channels.orphanLeft(o.appId, channel, o.uid, o.sessionId)
    if (await this.engine.unregister(o.appId, o.uid, o.sessionId)) {
      await this.engine.publish('presence', o.appId, o.uid, encode({ type: FrameType.PRESENCE_STATES, reqId: 0, states: [{ uid: o.uid, state: PeerOnlineState.OFFLINE }] }))
      await this.engine.publish('attributes', o.appId, o.uid, encode({ type: FrameType.USER_ATTRS_CHANGED, uid: o.uid, attrs: [] }))
    }
    this.log.info({ uid: o.uid, appId: o.appId }, 'session of a dead node ended')
  }

  background(work: Promise<unknown>, what: string): void {
    work.catch((err: unknown) => this.log.error({ err, what }, 'background work failed'))
  }

  /** Stops accepting, tells every client to come back later, flushes the store. */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.rt.clock.clearInterval(this.sweepTimer)
    this.rt.clock.clearInterval(this.storeSweepTimer)
    this.rt.clock.clearInterval(this.mediaSweepTimer)
    for (const c of this.connections) c.conn.close(CloseCode.GOING_AWAY, 'node shutting down')
    this.ywebrtc.close()
    await this.front.close()
    this.channels.close()
    this.invitations.close()
    await this.channels.docs.flushAll()
    this.sessions.disposeAll()
    await this.engine.close()
  }

  // ---- connections -------------------------------------------------------------------

  /** A new client connection: the node's logic takes it from here. */
  accept(conn: Connection): ConnectionHandler {
    const c = new Client(conn, this.clientEvents, this.rt.clock.now())
    this.connections.add(c)
    c.loginTimer = this.rt.clock.setTimeout(() => {
      if (!c.session) conn.close(CloseCode.LOGIN_TIMEOUT, 'no login')
    }, this.config.loginTimeoutMs)
    return c
  }

  private readonly clientEvents: ClientEvents = {
    message: (c, bytes, isBinary) => this.onClientMessage(c, bytes, isBinary),
    closed: (c) => this.onClientClosed(c),
  }

  private onClientMessage(c: ClientConn, bytes: Uint8Array, isBinary: boolean): void {
    const conn = c.conn
    if (!conn.open) return // closing (for too many bad frames, say): what is still in flight is not read
    if (!isBinary) return this.refuse(c, new PlazaError(ErrorCode.MALFORMED_FRAME, 'text frames are not spoken'))
    let frame: ClientFrame
    try {
      frame = decodeClientFrame(bytes)
    } catch (err) {
      return this.refuse(c, err)
    }
    if (frame.type !== FrameType.BATCH) return this.enqueue(c, frame)
    // Each frame of a batch is taken as if it had come alone (a bad one is refused alone).
    for (const inner of frame.frames) {
      let f: ClientFrame
      try {
        f = decodeClientFrame(inner)
        if (f.type === FrameType.BATCH) throw new PlazaError(ErrorCode.MALFORMED_FRAME, 'a BATCH inside a BATCH')
      } catch (err) {
        this.refuse(c, err)
        continue
      }
      if (!conn.open) return
      this.enqueue(c, f)
    }
  }

  private enqueue(c: ClientConn, frame: ClientFrame): void {
    if (!c.busy) return this.process(c, frame)
    const backlog = (c.backlog ??= [])
    if (backlog.length >= MAX_BACKLOG_FRAMES) return void c.conn.close(CloseCode.TOO_MANY_ERRORS, 'too many frames waiting')
    backlog.push(frame)
  }

  private onClientClosed(c: ClientConn): void {
    this.connections.delete(c)
    this.rt.clock.clearTimeout(c.loginTimer)
    c.loginTimer = null
    const s = c.session
    // Detach: the session stays (presence unchanged) until it resumes or the sweep ends it;
    // meanwhile messages sent to it with offline messaging are stored (deliverIfConnected).
    if (s && s.socket === c.conn) {
      s.socket = null
      if (!s.ended) this.background(this.engine.setConnected(s.appId, s.uid, s.id, false), 'detach')
    }
  }

  /**
   * Handles a connection's frames one after the other: a frame whose handler waits for the
   * engine holds back the frames after it (in `backlog`, made only then), so that each
   * session's requests take effect in the order they were sent.
   */
  private process(c: ClientConn, first: ClientFrame): void {
    for (let frame: ClientFrame | undefined = first; frame; frame = c.backlog?.shift()) {
      const work = this.handle(c, frame)
      if (!work) continue
      c.busy = true
      work.finally(() => {
        c.busy = false
        const next = c.backlog?.shift()
        if (next) this.process(c, next)
        else c.backlog = null
      })
      return
    }
    c.backlog = null
  }

  /** One frame; a promise while its handler waits (it never rejects: failures are answered). */
  private handle(c: ClientConn, frame: ClientFrame): Promise<void> | void {
    const failed = (err: unknown) => {
      if (!(err instanceof PlazaError)) this.log.error({ err, frame: FrameType[frame.type] }, 'frame handler failed')
      const e = err instanceof PlazaError ? err : new PlazaError(ErrorCode.INTERNAL, 'internal error')
      // A request hears it as its answer (UNAVAILABLE while the engine's Redis is out of reach, say).
      const reqId = 'reqId' in frame ? frame.reqId : 0
      if (c.session && c.conn.open && reqId) return this.result(c.session, reqId, e)
      if (c.conn.open) this.refuse(c, e)
    }
    try {
      return this.onFrame(c, frame)?.catch(failed)
    } catch (err) {
      failed(err)
    }
  }

  /** Answers a bad frame with an ERROR; a connection that keeps sending them is closed. */
  private refuse(c: ClientConn, err: unknown): void {
    const code = err instanceof PlazaError ? err.code : ErrorCode.MALFORMED_FRAME
    const message = err instanceof Error ? err.message : 'bad frame'
    const now = this.rt.clock.now()
    if (now - c.badWindowStart > 60_000) {
      c.badWindowStart = now
      c.badFrames = 0
    }
    c.badFrames++
    this.metrics.errors.inc({ code: ErrorCode[code] ?? String(code) })
    if (c.conn.open) c.conn.send(encode({ type: FrameType.ERROR, code, message }))
    if (c.badFrames > MAX_BAD_FRAMES) c.conn.close(CloseCode.TOO_MANY_ERRORS, 'too many bad frames')
  }

  private onFrame(c: ClientConn, f: ClientFrame): Promise<void> | void {
    if (f.type === FrameType.LOGIN) {
      if (c.session || c.loggingIn) return this.refuse(c, new PlazaError(ErrorCode.ALREADY_LOGGED_IN, 'already logged in'))
      this.sessions.login(c, f).catch((err: unknown) => {
        const e = err instanceof PlazaError ? err : new PlazaError(ErrorCode.INTERNAL, 'internal error')
        if (e.code === ErrorCode.INTERNAL) this.log.error({ err }, 'login failed')
        else this.log.warn({ code: e.codeName, message: e.message }, 'login failed')
        if (c.conn.open) c.conn.send(encode({ type: FrameType.LOGIN_FAILED, code: e.code, message: e.message }))
        if (c.conn.open) c.conn.close(CloseCode.LOGIN_FAILED, e.message.slice(0, 100))
      })
      return
    }
    const s = c.session
    if (!s || s.socket !== c.conn) {
      return this.refuse(c, new PlazaError(ErrorCode.NOT_LOGGED_IN, 'log in first'))
    }
    this.sessions.touch(s)
    switch (f.type) {
      case FrameType.PING:
        return s.sendNow(encode({ type: FrameType.PONG, ts: f.ts, serverTs: this.rt.clock.now() }))
      case FrameType.LOGOUT:
        s.sendNow(encode({ type: FrameType.RESULT, reqId: f.reqId, code: ErrorCode.OK, message: '' }))
        this.sessions.end(s, true)
        return void c.conn.close(CloseCode.LOGOUT, 'logout')
      case FrameType.RENEW_TOKEN:
        return void this.sessions.renewToken(s, f.reqId, f.token)
      case FrameType.QUERY_PRESENCE: {
        const err = this.checkList(f.uids, this.config.presenceQueryIds) ?? this.checkRate(s, 'presenceQueries')
        if (err) return this.result(s, f.reqId, err)
        return this.engine.presenceOf(s.appId, f.uids).then((found) => {
          // A query answers ONLINE or OFFLINE (SPEC): an unreachable session still exists.
          const states = found.map((st, i) => ({ uid: f.uids[i], state: st === PeerOnlineState.OFFLINE ? st : PeerOnlineState.ONLINE }))
          s.sendNow(encode({ type: FrameType.PRESENCE_STATES, reqId: f.reqId, states }))
        })
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
        for (const u of fresh) s.subscriptions.add(u)
        return this.engine.subscribe(s.appId, s.id, 'presence', fresh).then(async () => {
          const states = (await this.engine.presenceOf(s.appId, fresh)).map((state, i) => ({ uid: fresh[i], state }))
          s.sendNow(encode({ type: FrameType.PRESENCE_STATES, reqId: f.reqId, states }))
        })
      }
      case FrameType.UNSUBSCRIBE_PRESENCE: {
        const err = this.checkList(f.uids, this.config.presenceSubscribeIds)
        if (err) return this.result(s, f.reqId, err)
        for (const u of f.uids) s.subscriptions.delete(u)
        return this.engine.unsubscribe(s.appId, s.id, 'presence', f.uids).then(() => this.result(s, f.reqId, null))
      }
      case FrameType.SIGNAL_TO: {
        if (!s.buckets.signaling.take(this.rt.clock.now())) {
          return s.sendNow(encode({ type: FrameType.ERROR, code: ErrorCode.TOO_OFTEN, message: 'signaling too often' }))
        }
        return this.signal(s, f.to, f.data)
      }
      case FrameType.RELAY_TO:
        return this.relay.onRelay(s, f)
      case FrameType.CHANNEL_BROADCAST:
        return this.relay.onBroadcast(s, f)
      case FrameType.OVERLAY_OUTSIDE_SEND:
        return this.relay.onOverlayOutside(s, f)
      case FrameType.OFFLINE_ACK:
        return this.relay.onOfflineAck(s, f.ids)
      case FrameType.JOIN_CHANNEL:
      case FrameType.LEAVE_CHANNEL:
      case FrameType.GET_MEMBERS:
      case FrameType.GET_MEMBER_COUNTS:
      case FrameType.CHANNEL_SYNC_TO_NODE:
      case FrameType.CHANNEL_ATTRS_WRITE:
      case FrameType.CHANNEL_ATTRS_GET:
      case FrameType.OVERLAY_CANDIDATES:
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
      case FrameType.INVITE_SYNC:
        return this.invitations.handle(s, f)
      case FrameType.MODERATE: {
        const err = this.checkRate(s, 'session')
        if (err) return this.result(s, f.reqId, err)
        return this.moderation.onModerate(s, f).then(
          () => this.result(s, f.reqId, null),
          (e: unknown) => this.result(s, f.reqId, e instanceof PlazaError ? e : new PlazaError(ErrorCode.INTERNAL, 'moderation failed')),
        )
      }
    }
  }

  /** Passes a WebRTC signal on, if the link policy allows it; SIGNAL_FAILED otherwise. */
  private async signal(s: Session, to: string, data: string): Promise<void> {
    const failed = (code: ErrorCode) => s.sendNow(encode({ type: FrameType.SIGNAL_FAILED, to, code }))
    if (to === s.uid) return failed(ErrorCode.PEER_OFFLINE)
    if (!(await this.linkAllowed(s, to))) {
      if (!(await this.engine.session(s.appId, to))) return failed(ErrorCode.PEER_OFFLINE)
      this.metrics.signalingRefused.inc()
      return failed(ErrorCode.NOT_PERMITTED)
    }
    this.metrics.signaling.inc()
    if (!(await this.engine.deliver(s.appId, to, encode({ type: FrameType.SIGNAL_FROM, from: s.uid, data })))) failed(ErrorCode.PEER_OFFLINE)
  }

  /** Whether the app's direct-link policy lets `s` signal `to` (see LinkPolicy). */
  private async linkAllowed(s: Session, to: string): Promise<boolean> {
    const policy = this.config.linkPolicies[s.appId] ?? this.config.linkPolicy
    if (policy === 'always') return true
    if (policy === 'relay-only') return false
    for (const channel of s.channels) if (await this.engine.member(s.appId, channel, to)) return true
    return this.engine.areContacts(s.appId, s.uid, to)
  }

  private checkList(uids: string[], max: number): PlazaError | null {
    if (uids.length === 0) return new PlazaError(ErrorCode.INVALID_ARGUMENT, 'empty list')
    if (uids.length > max) return new PlazaError(ErrorCode.TOO_MANY_IDS, `at most ${max} ids`)
    return null
  }

  checkRate(s: Session, name: keyof SessionLimits): PlazaError | null {
    return s.buckets[name].take(this.rt.clock.now()) ? null : new PlazaError(ErrorCode.TOO_OFTEN, `${name} too often`)
  }

  chargeBytes(s: Session, bytes: number): PlazaError | null {
    return s.buckets.fanoutBytes.take(this.rt.clock.now(), bytes) ? null : new PlazaError(ErrorCode.TOO_OFTEN, 'too many bytes sent on your behalf (fanoutBytes)')
  }

  result(s: Session, reqId: number, err: PlazaError | null): void {
    if (err) this.metrics.errors.inc({ code: err.codeName })
    // reqId 0 asked for no answer: only an error is told, as an ERROR frame.
    if (reqId === 0) {
      if (err) s.sendNow(encode({ type: FrameType.ERROR, code: err.code, message: err.message }))
      return
    }
    s.sendNow(encode({ type: FrameType.RESULT, reqId, code: err ? err.code : ErrorCode.OK, message: err ? err.message : '' }))
  }

  private async sweepStore(): Promise<void> {
    try {
      const n = await this.engine.offline.sweepExpired()
      if (n) this.log.info({ n }, 'expired offline messages removed')
      const docs = await this.engine.docs.sweep(this.rt.clock.now() - this.config.channelRetentionMs, async (appId, channel) => (await this.engine.channelCount(appId, channel)) > 0)
      if (docs) this.log.info({ docs }, 'channel documents past retention removed')
    } catch (err) {
      this.log.error({ err }, 'offline sweep failed')
    }
  }
}
