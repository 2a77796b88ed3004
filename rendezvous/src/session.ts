import { ErrorCode, PeerOnlineState, RateBucket, encodeFrame, FrameType, type Grants, type OfflineDrop, type RateLimit, type SeqRange, mergeRanges } from '@plaza/protocol'
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
  overlayCandidates: RateLimit
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
const NO_DROPS: OfflineDrop[] = Object.freeze([]) as unknown as OfflineDrop[]
const SETTLED = Promise.resolve()

/** Boolean states of a session, as bits of one field. */
const READY = 1
const ENDED = 2
const LOST_FRAMES = 4
const OFFLINE_LOADING = 8
const OFFLINE_AGAIN = 16

/** What only some sessions need, made on first use. */
interface Rarely {
  buckets?: SessionBuckets
  pending?: Uint8Array[]
  pendingBytes?: number
  offlineInFlight?: Set<number>
  offlineDrops?: OfflineDrop[]
  offlineRemoving?: Promise<void>
  subscriptions?: Set<string>
  attributeSubscriptions?: Set<string>
  channels?: Set<string>
  joinBuckets?: Map<string, RateBucket>
  contacts?: Set<string>
  userAttrs?: Map<string, { value: string; ts: number }>
  unreachable?: Map<string, SeqRange[]>
}

/** Receiver streams whose PEER_OFFLINE seqs a session remembers (see noteUnreachable). */
const MAX_UNREACHABLE_STREAMS = 64

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
LazyBuckets.define(['messages', 'presenceQueries', 'signaling', 'session', 'attributeWrites', 'attributeReads', 'joins', 'sameChannelJoins', 'memberCounts', 'channelRelay', 'invitations', 'fanoutBytes', 'overlayCandidates'])

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
  /** The protocol version the client logged in with (see MIN_PROTOCOL_VERSION). */
  protocol = 0
  /** What the user's token allows (absent fields: what any user may). */
  grants: Grants = NO_GRANTS
  private flags = 0
  private made: Rarely | null = null

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

  private get lazy(): Rarely {
    return (this.made ??= {})
  }

  private flag(bit: number, on: boolean): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit
  }

  /** False while offline messages are being handed over, so live frames do not overtake them. */
  get ready(): boolean {
    return (this.flags & READY) !== 0
  }

  set ready(on: boolean) {
    this.flag(READY, on)
  }

  get ended(): boolean {
    return (this.flags & ENDED) !== 0
  }

  set ended(on: boolean) {
    this.flag(ENDED, on)
  }

  /** Frames for this session were dropped (the queue was full): it must resynchronise on resume. */
  get lostFrames(): boolean {
    return (this.flags & LOST_FRAMES) !== 0
  }

  set lostFrames(on: boolean) {
    this.flag(LOST_FRAMES, on)
  }

  get offlineLoading(): boolean {
    return (this.flags & OFFLINE_LOADING) !== 0
  }

  set offlineLoading(on: boolean) {
    this.flag(OFFLINE_LOADING, on)
  }

  get offlineAgain(): boolean {
    return (this.flags & OFFLINE_AGAIN) !== 0
  }

  set offlineAgain(on: boolean) {
    this.flag(OFFLINE_AGAIN, on)
  }

  /** Drop notices sent with the batch in flight: deleted from the store when that batch is acknowledged. */
  get offlineDrops(): OfflineDrop[] {
    return this.made?.offlineDrops ?? NO_DROPS
  }

  set offlineDrops(drops: OfflineDrop[]) {
    if (drops.length) this.lazy.offlineDrops = drops
    else if (this.made) this.made.offlineDrops = undefined
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
    return this.made?.offlineRemoving ?? SETTLED
  }

  set offlineRemoving(p: Promise<void>) {
    this.lazy.offlineRemoving = p
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

  /**
   * A plain message of `stream` to `to` was answered PEER_OFFLINE: its sender will not send it
   * again. Remembered so that a stored message that follows on the same stream takes it along
   * as a seq to skip (see OfflinePut.skipped); else the receiver would wait for it.
   */
  noteUnreachable(to: string, stream: string, seq: number): void {
    const map = (this.lazy.unreachable ??= new Map())
    const key = `${to}\u0000${stream}`
    const ranges = map.get(key) ?? []
    map.delete(key)
    if (map.size >= MAX_UNREACHABLE_STREAMS) map.delete(map.keys().next().value!)
    map.set(key, mergeRanges(ranges, [[seq, seq]]))
  }

  /** The remembered PEER_OFFLINE seqs of `stream` to `to` below `seq`, forgotten here once taken. */
  takeUnreachable(to: string, stream: string, seq: number): SeqRange[] | undefined {
    const map = this.made?.unreachable
    const key = `${to}\u0000${stream}`
    const ranges = map?.get(key)
    if (!map || !ranges) return undefined
    const below = ranges.filter((r) => r[0] < seq).map((r): SeqRange => [r[0], Math.min(r[1], seq - 1)])
    const rest = ranges.filter((r) => r[1] > seq).map((r): SeqRange => [Math.max(r[0], seq + 1), r[1]])
    if (rest.length) map.set(key, rest)
    else map.delete(key)
    return below.length ? below : undefined
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
    const q = this.lazy
    const pending = (q.pending ??= [])
    const bytes = q.pendingBytes ?? 0
    if (pending.length >= limit.frames || bytes + frame.length > limit.bytes) {
      this.lostFrames = true
      return
    }
    // A frame from the shared pool (see bin.ts) would keep its whole 8 KiB slab alive while queued.
    // (Uint8Array's slice: a Buffer's own slice() is a view.)
    pending.push(frame.byteLength === frame.buffer.byteLength ? frame : Uint8Array.prototype.slice.call(frame))
    q.pendingBytes = bytes + frame.length
  }

  /** Sends straight away, ahead of the queue (login answers, offline batches). */
  sendNow(frame: Uint8Array): void {
    if (this.socket && this.socket.open) this.socket.send(frame)
  }

  /** Forgets what was queued (the client resynchronises instead). */
  discardQueue(): void {
    this.dropQueue()
    this.lostFrames = false
  }

  private dropQueue(): Uint8Array[] | undefined {
    const q = this.made
    if (!q) return undefined
    const frames = q.pending
    q.pending = undefined
    q.pendingBytes = undefined
    return frames
  }

  flush(): void {
    if (!this.socket || !this.ready) return
    const frames = this.dropQueue()
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
    this.dropQueue()
  }
}
