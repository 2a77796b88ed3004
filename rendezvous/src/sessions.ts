import {
  CloseCode,
  ErrorCode,
  FrameType,
  PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  OVERLAY_MIN_PROTOCOL,
  PeerOnlineState,
  PlazaError,
  encodeFrame,
  isValidId,
  type ClientFrame,
  type LoginFrame,
  type NodeOverlayKey,
  type Grants,
  type TimerHandle,
} from '@plaza/protocol'
import type { NodeContext } from './context.js'
import type { Connection, ConnectionHandler } from './connection.js'
import { Session, grantsOf, type SessionOwner } from './session.js'
import { Deadlines } from './deadlines.js'

/** A socket and what the node knows of it. */
export interface ClientConn {
  conn: Connection
  session: Session | null
  loggingIn: boolean
  badFrames: number
  badWindowStart: number
  loginTimer: TimerHandle | null
  /** Frames read and not yet handled, made while a frame's handler waits (see RendezvousNode.process). */
  backlog: ClientFrame[] | null
  /** A frame's handler is waiting for the engine. */
  busy: boolean
}

/** What the node does with its clients' events (one object per node). */
export interface ClientEvents {
  message(c: Client, data: Uint8Array, isBinary: boolean): void
  closed(c: Client): void
}

/** A ClientConn that is its own ConnectionHandler, so that a socket costs no closures. */
export class Client implements ClientConn, ConnectionHandler {
  session: Session | null = null
  loggingIn = false
  badFrames = 0
  loginTimer: TimerHandle | null = null
  backlog: ClientFrame[] | null = null
  busy = false

  constructor(
    readonly conn: Connection,
    private readonly events: ClientEvents,
    public badWindowStart: number,
  ) {}

  onMessage(data: Uint8Array, isBinary: boolean): void {
    this.events.message(this, data, isBinary)
  }

  onClose(): void {
    this.events.closed(this)
  }
}

/** What the session service needs besides the shared context. */
export interface SessionHooks {
  /** A session is ready for live frames after its stored messages were handed over. */
  deliverOffline(s: Session): Promise<void>
  /** The session ended: leave its channels, end its invitations, clear its attributes. */
  onEnded(s: Session): void
  /** A user logged in with a fresh session (hand over invitations waiting for them). */
  onFreshLogin(s: Session): void
  /** A session resumed after frames for it were lost: hand over again what can be. */
  onResync(s: Session): void
  /** The node's overlay certificate key for an app (told in LOGIN_OK to protocol 4 sessions). */
  nodeKey(appId: string): NodeOverlayKey | undefined
}

/**
 * Sessions: login (fresh or resumed), the single session per user, token expiry, liveness
 * (UNREACHABLE after a short silence, ended after a long one) and the presence it publishes.
 */
export class SessionService {
  private readonly sessions = new Map<string, Session>()
  /** Token warnings and expiries of every session, on one timer. */
  private readonly tokenDeadlines: Deadlines<Session>
  private readonly owner: SessionOwner

  constructor(
    private readonly ctx: NodeContext,
    private readonly hooks: SessionHooks,
  ) {
    const { config, rt } = ctx
    this.tokenDeadlines = new Deadlines(rt.clock, (s) => this.tokenEvent(s))
    this.owner = {
      limits: config.rateLimits,
      queueLimit: { frames: config.detachedQueueFrames, bytes: config.detachedQueueBytes },
      kick: (s, code, message) => this.kick(s, code, message),
      disposed: (s) => {
        this.tokenDeadlines.cancel(s.tokenDeadline)
        s.tokenDeadline = null
      },
    }
  }

  get size(): number {
    return this.sessions.size
  }

  all(): IterableIterator<Session> {
    return this.sessions.values()
  }

  async login(c: ClientConn, f: LoginFrame): Promise<void> {
    const { config, rt } = this.ctx
    const fail = (code: ErrorCode, message: string) => {
      if (c.conn.open) c.conn.send(encodeFrame({ type: FrameType.LOGIN_FAILED, code, message }))
      c.conn.close(CloseCode.LOGIN_FAILED, message.slice(0, 100))
    }
    if (f.version < MIN_PROTOCOL_VERSION || f.version > PROTOCOL_VERSION) {
      return fail(ErrorCode.UNSUPPORTED_VERSION, `protocol ${f.version} not supported (speaks ${MIN_PROTOCOL_VERSION} to ${PROTOCOL_VERSION})`)
    }
    const secret = config.apps[f.appId]
    if (secret === undefined) return fail(ErrorCode.INVALID_APP_ID, 'unknown app id')
    if (!isValidId(f.uid)) return fail(ErrorCode.INVALID_USER_ID, 'not a valid user id')
    c.loggingIn = true
    let exp: number
    let grants: Grants
    try {
      ;({ expiresAt: exp, grants } = await rt.verifyToken(f.token, secret, { appId: f.appId, uid: f.uid }))
    } catch (err) {
      const e = err instanceof PlazaError ? err : new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token')
      this.ctx.log.info({ uid: f.uid, code: e.codeName }, 'login refused')
      this.ctx.metrics.logins.inc({ result: e.codeName })
      return fail(e.code, e.message)
    } finally {
      c.loggingIn = false
    }
    if (!c.conn.open || this.ctx.closing) return
    const banned = this.ctx.moderation.loginRefusal(f.appId, f.uid, c.conn.remoteAddress)
    if (banned) {
      this.ctx.metrics.logins.inc({ result: banned.codeName })
      return fail(banned.code, banned.message)
    }
    rt.clock.clearTimeout(c.loginTimer)
    c.loginTimer = null

    const resumable = f.resume ? this.sessions.get(f.resume) : undefined
    let s: Session
    let resumed = false
    let resync = false
    if (resumable && !resumable.ended && resumable.appId === f.appId && resumable.uid === f.uid) {
      s = resumable
      resumed = true
      if (s.socket && s.socket !== c.conn) s.socket.close(CloseCode.REPLACED, 'resumed elsewhere')
      s.tokenExpiresAt = exp
      s.grants = grantsOf(grants)
      // Frames written to the old socket before it died may never have arrived (a half-open
      // connection swallows them), so a resumed client always fetches the state anew. A queue
      // that overflowed is incomplete as well: it goes.
      resync = true
      if (s.lostFrames) s.discardQueue()
    } else {
      s = new Session(rt.sessionId(), f.appId, f.uid, exp, rt.clock.now(), this.owner)
      s.grants = grantsOf(grants)
      this.sessions.set(s.id, s)
      s.socket = c.conn
      c.session = s
      // Subscribers hear ONLINE unless the user was online already (an older session, replaced
      // now, that they last heard of as ONLINE).
      let older
      try {
        older = await this.ctx.engine.register(f.appId, f.uid, s.id, c.conn.remoteAddress)
      } catch (err) {
        // Not registered (the engine out of reach): the session never was.
        this.sessions.delete(s.id)
        s.dispose()
        c.session = null
        throw err
      }
      if (s.ended) return
      if (older?.presence !== PeerOnlineState.ONLINE) await this.publishPresence(s, PeerOnlineState.ONLINE)
    }
    s.socket = c.conn
    s.protocol = f.version
    c.session = s
    this.touch(s, true)
    this.armTokenDeadline(s)
    s.sendNow(
      encodeFrame({
        type: FrameType.LOGIN_OK,
        sessionId: s.id,
        resumed,
        resync,
        serverTs: rt.clock.now(),
        pingIntervalMs: config.pingIntervalMs,
        tokenExpiresAt: exp,
        // Trailing in protocol 4: older clients would refuse the frame.
        ...(f.version >= OVERLAY_MIN_PROTOCOL ? { nodeKey: this.hooks.nodeKey(f.appId) } : {}),
      }),
    )
    this.ctx.log.debug({ uid: s.uid, resumed, resync }, 'logged in')
    this.ctx.metrics.logins.inc({ result: resumed ? 'RESUMED' : 'OK' })
    if (resumed) {
      this.ctx.background(this.ctx.engine.setConnected(s.appId, s.uid, s.id, true), 'resume')
      // Offline batches in flight on the old socket are sent again.
      s.offlineInFlight.clear()
      s.offlineDrops = []
      s.ready = false
    }
    if (resync) this.hooks.onResync(s)
    await this.hooks.deliverOffline(s)
    if (!resumed) this.hooks.onFreshLogin(s)
  }

  async renewToken(s: Session, reqId: number, token: string): Promise<void> {
    const rateErr = this.ctx.checkRate(s, 'session')
    if (rateErr) return this.ctx.result(s, reqId, rateErr)
    try {
      const verified = await this.ctx.rt.verifyToken(token, this.ctx.config.apps[s.appId] ?? '', { appId: s.appId, uid: s.uid })
      s.tokenExpiresAt = verified.expiresAt
      s.grants = grantsOf(verified.grants)
      this.armTokenDeadline(s)
      this.ctx.result(s, reqId, null)
    } catch (err) {
      this.ctx.result(s, reqId, err instanceof PlazaError ? err : new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token'))
    }
  }

  /** Sets the session's next token event: the warning if it is still ahead, else the expiry. */
  private armTokenDeadline(s: Session): void {
    this.tokenDeadlines.cancel(s.tokenDeadline)
    const warnAt = s.tokenExpiresAt - this.ctx.config.tokenWillExpireMs
    s.tokenDeadline = this.tokenDeadlines.add(warnAt > this.ctx.rt.clock.now() ? warnAt : s.tokenExpiresAt, s)
  }

  private tokenEvent(s: Session): void {
    s.tokenDeadline = null
    if (s.ended) return
    if (this.ctx.rt.clock.now() < s.tokenExpiresAt) {
      s.send(encodeFrame({ type: FrameType.TOKEN_WILL_EXPIRE, expiresAt: s.tokenExpiresAt }))
      s.tokenDeadline = this.tokenDeadlines.add(s.tokenExpiresAt, s)
      return
    }
    this.ctx.log.info({ uid: s.uid }, 'token expired')
    s.closeWith(ErrorCode.TOKEN_EXPIRED, 'token expired', CloseCode.TOKEN_EXPIRED)
    this.end(s, true)
  }

  private kick(s: Session, code: ErrorCode, message: string): void {
    this.ctx.log.info({ uid: s.uid, code: ErrorCode[code] }, 'session kicked')
    s.closeWith(code, message, code === ErrorCode.REMOTE_LOGIN ? CloseCode.REMOTE_LOGIN : CloseCode.POLICY)
    // Replaced by a newer session of the same uid: the uid stays online, so no OFFLINE event.
    this.end(s, code !== ErrorCode.REMOTE_LOGIN)
  }

  /** The session of this node with that id, if it lives. */
  get(sessionId: string): Session | undefined {
    return this.sessions.get(sessionId)
  }

  /** Ends a session (logout, expiry, silence, kick); OFFLINE goes out unless the uid is still online. */
  end(s: Session, publishOffline: boolean): void {
    if (!this.sessions.has(s.id)) return
    this.sessions.delete(s.id)
    this.hooks.onEnded(s)
    s.dispose()
    const { engine } = this.ctx
    this.ctx.background(
      engine.unregister(s.appId, s.uid, s.id).then((none) => {
        if (publishOffline && none) return this.publishPresence(s, PeerOnlineState.OFFLINE)
      }),
      'session end',
    )
  }

  private publishPresence(s: Session, state: PeerOnlineState): Promise<void> {
    const frame = encodeFrame({ type: FrameType.PRESENCE_STATES, reqId: 0, states: [{ uid: s.uid, state }] })
    return this.ctx.engine.publish('presence', s.appId, s.uid, frame)
  }

  private presenceChanged(s: Session, state: PeerOnlineState): void {
    s.presence = state
    this.ctx.background(
      this.ctx.engine.setPresence(s.appId, s.uid, s.id, state).then(() => this.publishPresence(s, state)),
      'presence',
    )
  }

  /** Any frame from the session counts as contact (`login`: its login, which lists the store itself). */
  touch(s: Session, login = false): void {
    s.lastContact = this.ctx.rt.clock.now()
    if (s.presence !== PeerOnlineState.UNREACHABLE) return
    this.presenceChanged(s, PeerOnlineState.ONLINE)
    // Messages sent with offline messaging while it was silent were stored: it gets them now.
    if (!login) void this.hooks.deliverOffline(s)
  }

  /** Liveness: UNREACHABLE after a short silence, OFFLINE (session ended) after a long one. */
  sweep(): void {
    const now = this.ctx.rt.clock.now()
    for (const s of [...this.sessions.values()]) {
      const idle = now - s.lastContact
      if (idle >= this.ctx.config.offlineAfterMs) {
        this.ctx.log.debug({ uid: s.uid }, 'session timed out')
        s.socket?.terminate()
        this.end(s, true)
      } else if (idle >= this.ctx.config.unreachableAfterMs && s.presence === PeerOnlineState.ONLINE) {
        this.presenceChanged(s, PeerOnlineState.UNREACHABLE)
      }
    }
  }

  /** Shutting down: forget every session without publishing anything. */
  disposeAll(): void {
    for (const s of this.sessions.values()) s.dispose()
    this.sessions.clear()
    this.tokenDeadlines.clear()
  }
}
