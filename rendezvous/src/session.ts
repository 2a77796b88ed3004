import { ErrorCode, PeerOnlineState, RateBucket, encodeFrame, FrameType, type Grants, type OfflineDrop, type RateLimit, type TimerHandle } from '@plaza/protocol'
import type { Connection } from './connection.js'

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

/**
 * One logged-in user on this node. It outlives its socket: after a drop it waits, detached,
 * for a resume (frames for it are queued, bounded) until the liveness sweep ends it.
 */
export class Session {
  socket: Connection | null = null
  presence = PeerOnlineState.ONLINE
  lastContact: number
  tokenExpiresAt: number
  /** False while offline messages are being handed over, so live frames do not overtake them. */
  ready = false
  ended = false
  /** The protocol version the client logged in with (see MIN_PROTOCOL_VERSION). */
  protocol = 0
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  /** Frames for this session were dropped (the queue was full): it must resynchronise on resume. */
  lostFrames = false
  readonly offlineInFlight = new Set<number>()
  /** Drop notices sent with the batch in flight: deleted from the store when that batch is acknowledged. */
  offlineDrops: OfflineDrop[] = []
  /** Deletions of acknowledged stored messages, one after the other; listing waits for them. */
  offlineRemoving: Promise<void> = Promise.resolve()
  offlineLoading = false
  offlineAgain = false
  readonly buckets: Record<keyof SessionLimits, RateBucket>
  tokenTimers: TimerHandle[] = []
  /** Users whose presence this session follows. */
  readonly subscriptions = new Set<string>()
  /** Users whose attributes this session follows. */
  readonly attributeSubscriptions = new Set<string>()
  /** Channels joined (at most 20). */
  readonly channels = new Set<string>()
  /** Per-channel join buckets (same channel 2 per 5 s), bounded. */
  readonly joinBuckets = new Map<string, RateBucket>()
  /** Users this session told the engine it sent a message to (most recent 1024): told once each. */
  private readonly contacts = new Set<string>()
  /** What the user's token allows (absent fields: what any user may). */
  grants: Grants = {}
  /** This user's attributes; cleared with the session. */
  userAttrs = new Map<string, { value: string; ts: number }>()

  constructor(
    readonly id: string,
    readonly appId: string,
    readonly uid: string,
    tokenExpiresAt: number,
    limits: SessionLimits,
    /** Frames and bytes kept while detached or not yet ready. */
    private readonly queueLimit: { frames: number; bytes: number },
    now: number,
    private readonly onKick: (s: Session, code: ErrorCode, message: string) => void,
    private readonly onDispose: (s: Session) => void = () => undefined,
  ) {
    this.lastContact = now
    this.tokenExpiresAt = tokenExpiresAt
    this.buckets = Object.fromEntries(
      Object.entries(limits).map(([name, limit]) => [name, new RateBucket(limit, now)]),
    ) as Record<keyof SessionLimits, RateBucket>
  }

  /** True the first time (in the newest 1024) this session sends `uid` a message through the node. */
  noteContact(uid: string): boolean {
    if (this.contacts.has(uid)) return false
    if (this.contacts.size >= 1024) this.contacts.delete(this.contacts.values().next().value!)
    this.contacts.add(uid)
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
    if (this.pending.length >= this.queueLimit.frames || this.pendingBytes + frame.length > this.queueLimit.bytes) {
      this.lostFrames = true
      return
    }
    this.pending.push(frame)
    this.pendingBytes += frame.length
  }

  /** Sends straight away, ahead of the queue (login answers, offline batches). */
  sendNow(frame: Uint8Array): void {
    if (this.socket && this.socket.open) this.socket.send(frame)
  }

  /** Forgets what was queued (the client resynchronises instead). */
  discardQueue(): void {
    this.pending = []
    this.pendingBytes = 0
    this.lostFrames = false
  }

  flush(): void {
    if (!this.socket || !this.ready) return
    const frames = this.pending
    this.pending = []
    this.pendingBytes = 0
    for (const f of frames) this.socket.send(f)
  }

  kick(code: ErrorCode, message: string): void {
    this.onKick(this, code, message)
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
    this.onDispose(this)
    this.tokenTimers = []
    this.pending = []
    this.pendingBytes = 0
  }
}
