import { ErrorCode, PeerOnlineState, RateBucket, encodeFrame, FrameType, type Grants, type OfflineDrop, type RateLimit } from '@plaza/protocol'
import type { Connection } from './connection.js'
import type { Deadline } from './deadlines.js'

export interface SessionLimits {
  messages: RateLimit
  presenceQueries: RateLimit
  signaling: RateLimit
  session: RateLimit
  attributeWrites: RateLimit
  attributeReads: RateLimit
  joins: RateLimit
  sameChannelJoins: RateLimit
  memberCounts: RateLimit
  channelRelay: RateLimit
  invitations: RateLimit
  fanoutBytes: RateLimit
}

export type SessionBuckets = Record<keyof SessionLimits, RateBucket>

/** What every session of a node shares (one object per node, not one per session). */
export interface SessionOwner {
  readonly limits: SessionLimits
  /** Frames and bytes kept while detached or not yet ready. */
  readonly queueLimit: { frames: number; bytes: number }
  kick(s: Session, code: ErrorCode, message: string): void
  disposed(s: Session): void
}

const NO_GRANTS: Grants = Object.freeze({})
const SETTLED = Promise.resolve()

/** Most tokens grant nothing special: their sessions share one empty object. */
export function grantsOf(grants: Grants): Grants {
  for (const _ in grants) return grants
  return NO_GRANTS
}

/**
 * Rate buckets made on first use: most sessions sit idle and never need most of them. A bucket
 * made late is the same as one made at login, as both are full until first taken from.
 */
class LazyBuckets {
  private readonly made: Partial<SessionBuckets> = {}
  constructor(private readonly limits: SessionLimits) {}

  static define(names: (keyof SessionLimits)[]): void {
    for (const name of names) {
      Object.defineProperty(LazyBuckets.prototype, name, {
        get(this: LazyBuckets) {
          return (this.made[name] ??= new RateBucket(this.limits[name], 0))
        },
      })
    }
  }
}
LazyBuckets.define(['messages', 'presenceQueries', 'signaling', 'session', 'attributeWrites', 'attributeReads', 'joins', 'sameChannelJoins', 'memberCounts', 'channelRelay', 'invitations', 'fanoutBytes'])

/**
 * One logged-in user on this node. It outlives its socket: after a drop it waits, detached,
 * for a resume (frames for it are queued, bounded) until the liveness sweep ends it.
 * An idle session is most of a node's sessions, so what only some use is made on first use.
 */
export class Session {
  socket: Connection | null = null
  presence = PeerOnlineState.ONLINE
  lastContact: number
  tokenExpiresAt: number
  /** The next token event (warning or expiry), in the node's token deadlines. */
  tokenDeadline: Deadline<Session> | null = null
  /** False while offline messages are being handed over, so live frames do not overtake them. */
  ready = false
  ended = false
  private pending: Uint8Array[] | null = null
  private pendingBytes = 0
  /** Frames for this session were dropped (the queue was full): it must resynchronise on resume. */
  lostFrames = false
  /** Drop notices sent with the batch in flight: deleted from the store when that batch is acknowledged. */
  offlineDrops: OfflineDrop[] = []
  private removing: Promise<void> | null = null
  offlineLoading = false
  offlineAgain = false
  /** What the user's token allows (absent fields: what any user may). */
  grants: Grants = NO_GRANTS
  private made: {
    buckets?: SessionBuckets
    offlineInFlight?: Set<number>
    subscriptions?: Set<string>
    attributeSubscriptions?: Set<string>
    channels?: Set<string>
    joinBuckets?: Map<string, RateBucket>
    contacts?: Set<string>
    userAttrs?: Map<string, { value: string; ts: number }>
  } | null = null

  constructor(
    readonly id: string,
    readonly appId: string,
    readonly uid: string,
    tokenExpiresAt: number,
    now: number,
    private readonly owner: SessionOwner,
  ) {
    this.lastContact = now
    this.tokenExpiresAt = tokenExpiresAt
  }

  private get lazy(): NonNullable<Session['made']> {
    return (this.made ??= {})
  }

  get buckets(): SessionBuckets {
    return (this.lazy.buckets ??= new LazyBuckets(this.owner.limits) as unknown as SessionBuckets)
  }

  /** Ids of the offline batch in flight. */
  get offlineInFlight(): Set<number> {
    return (this.lazy.offlineInFlight ??= new Set())
  }

  /** Deletions of acknowledged stored messages, one after the other; listing waits for them. */
  get offlineRemoving(): Promise<void> {
    return this.removing ?? SETTLED
  }

  set offlineRemoving(p: Promise<void>) {
    this.removing = p
  }

  /** Users whose presence this session follows. */
  get subscriptions(): Set<string> {
    return (this.lazy.subscriptions ??= new Set())
  }

  /** Users whose attributes this session follows. */
  get attributeSubscriptions(): Set<string> {
    return (this.lazy.attributeSubscriptions ??= new Set())
  }

  /** Channels joined (at most 20). */
  get channels(): Set<string> {
    return (this.lazy.channels ??= new Set())
  }

  /** Per-channel join buckets (same channel 2 per 5 s), bounded. */
  get joinBuckets(): Map<string, RateBucket> {
    return (this.lazy.joinBuckets ??= new Map())
  }

  /** This user's attributes; cleared with the session. */
  get userAttrs(): Map<string, { value: string; ts: number }> {
    return (this.lazy.userAttrs ??= new Map())
  }

  set userAttrs(attrs: Map<string, { value: string; ts: number }>) {
    this.lazy.userAttrs = attrs
  }

  get hasUserAttrs(): boolean {
    return !!this.made?.userAttrs?.size
  }

  /** True the first time (in the newest 1024) this session sends `uid` a message through the node. */
  noteContact(uid: string): boolean {
    const contacts = (this.lazy.contacts ??= new Set())
    if (contacts.has(uid)) return false
    if (contacts.size >= 1024) contacts.delete(contacts.values().next().value!)
    contacts.add(uid)
    return true
  }

  send(frame: Uint8Array): void {
    if (this.ended) return
    if (this.socket && this.ready && this.socket.open) {
      this.socket.send(frame)
      return
    }
    // Detached or not ready: queue, bounded. Past the bound frames are dropped and the session
    // is marked: peer messages are retransmitted by their senders, the rest is resynchronised.
    const limit = this.owner.queueLimit
    const pending = (this.pending ??= [])
    if (pending.length >= limit.frames || this.pendingBytes + frame.length > limit.bytes) {
      this.lostFrames = true
      return
    }
    pending.push(frame)
    this.pendingBytes += frame.length
  }

  /** Sends straight away, ahead of the queue (login answers, offline batches). */
  sendNow(frame: Uint8Array): void {
    if (this.socket && this.socket.open) this.socket.send(frame)
  }

  /** Forgets what was queued (the client resynchronises instead). */
  discardQueue(): void {
    this.pending = null
    this.pendingBytes = 0
    this.lostFrames = false
  }

  flush(): void {
    if (!this.socket || !this.ready) return
    const frames = this.pending
    this.pending = null
    this.pendingBytes = 0
    if (frames) for (const f of frames) this.socket.send(f)
  }

  kick(code: ErrorCode, message: string): void {
    this.owner.kick(this, code, message)
  }

  /** Sends KICKED and closes the socket; the node forgets the session. */
  closeWith(code: ErrorCode, message: string, wsCode: number): void {
    if (this.socket) {
      this.sendNow(encodeFrame({ type: FrameType.KICKED, code, message }))
      this.socket.close(wsCode, message.slice(0, 100))
      this.socket = null
    }
    this.dispose()
  }

  dispose(): void {
    this.ended = true
    this.owner.disposed(this)
    this.pending = null
    this.pendingBytes = 0
  }
}
