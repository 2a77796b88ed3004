import {
  ErrorCode,
  MessageKind,
  PeerFrameType,
  PeerMessageState,
  PlazaError,
  RelayStatus,
  encodePeerFrame,
  messageBodyBytes,
  type PeerAckFrame,
} from '@plaza/protocol'
import type { Outgoing, OutgoingBody, OutboxOptions, OutboxSnapshot, OutboxTransport, Path, SavedMessage, SendOptions, SendResult, SeqReservation } from './outbox-types.js'

export type { OutgoingBody, OutboxOptions, OutboxSnapshot, OutboxTransport, Path, SavedMessage, SendOptions, SendResult, SeqReservation } from './outbox-types.js'

const inRanges = (seq: number, ranges: [number, number][]) => ranges.some(([a, b]) => a <= seq && seq <= b)

/** Stored seqs tracked per stream (well above the store's default cap of 200 per receiver). */
const MAX_STORED_TRACKED = 1024

/** Outcomes that say the message did not arrive (and never will). */
const NOT_DELIVERED = new Set<PeerMessageState>([
  PeerMessageState.PEER_UNREACHABLE,
  PeerMessageState.FAILURE,
  PeerMessageState.TOO_OFTEN,
  PeerMessageState.INVALID_USER_ID,
  PeerMessageState.INVALID_MESSAGE,
  PeerMessageState.OFFLINE_QUOTA_EXCEEDED,
])

const ACCEPTED_WAIT_MS = 5000

/** Round-trip estimate of one path (RFC 6298): smoothed RTT and its mean deviation, ms. */
interface RttEstimate {
  srtt: number
  rttvar: number
}

/** No copy can have reached the receiver: none left by a direct link, none is being relayed, none was relayed. */
const certainlyNotDelivered = (o: Outgoing) => !o.uncertain && o.relaysOut === 0

/**
 * The sending half towards one user: an ordered stream (`stream`, seq from 1) with a bounded
 * window of unacknowledged messages. Each copy goes the fastest way that works now; a message
 * is settled only by the receiver's acknowledgement, the store's, or a refusal that proves
 * no copy arrived. Outcomes never claim more than is known: once a copy may have arrived, the
 * message ends RECEIVED_BY_PEER, CACHED_BY_SERVER, FAILURE (the receiver says it skipped it)
 * or SENT_TIMEOUT (unknown) — never PEER_UNREACHABLE.
 */
export class PeerOutbox {
  private nextSeq = 1
  /**
   * Seqs answered STORED that the receiver has not acknowledged, ascending. The floor never
   * passes them: a receiver skips what is below the floor, and these are still to come from the
   * store. Bounded: past it, the oldest are ones the store's per-receiver cap drops anyway.
   */
  private stored: number[] = []
  private readonly inflight = new Map<number, Outgoing>()
  private readonly queue: Outgoing[] = []
  private inflightBytes = 0
  /** Per path: measured from acknowledgements of copies sent once (Karn's rule). */
  private readonly rtt: { direct: RttEstimate | null; relay: RttEstimate | null } = { direct: null, relay: null }
  /** When an acknowledgement last settled a message: the receiver is taking what we send. */
  private lastProgress = -Infinity
  /** Acknowledgements in a row that settled nothing: the receiver holds later messages, not the first. */
  private dupAcks = 0

  constructor(
    readonly uid: string,
    readonly stream: string,
    private readonly transport: OutboxTransport,
    private readonly opts: OutboxOptions,
    private readonly now: () => number,
    private readonly onChange: () => void = () => undefined,
    readonly seqs: SeqReservation = { reserved: Infinity, saving: 0, request: () => undefined },
    /**
     * Runs `fn` once the outbox as it is now is saved. A message that certainly did not arrive is
     * reported only then: a reload must not send again what the app was told went nowhere.
     */
    private readonly whenSaved: (fn: () => void) => void = (fn) => fn(),
  ) {}

  /** The seq the next message gets. */
  get next(): number {
    return this.nextSeq
  }

  /** The stream, where it stands, and its unsettled peer messages (channel copies are not kept across a reload). */
  snapshot(): OutboxSnapshot {
    const items = [...this.inflight.values(), ...this.queue]
      .filter((o) => o.channel === '')
      .map(({ seq, offline, kind, text, bytes, description }) => ({
        seq,
        offline,
        kind,
        text,
        bytes,
        description,
      }))
    return {
      stream: this.stream,
      nextSeq: Math.max(this.nextSeq, this.seqs.saving, this.seqs.reserved === Infinity ? 0 : this.seqs.reserved),
      items,
      stored: [...this.stored],
    }
  }

  /**
   * Takes back a snapshot's messages (before anything new is sent); each settles through
   * `settled`. Their send timeout starts at `startClock` (when the session is up), not now.
   */
  restore(snap: OutboxSnapshot, settled: (item: SavedMessage, r: SendResult) => void): void {
    const now = this.now()
    this.nextSeq = Math.max(this.nextSeq, snap.nextSeq)
    this.stored = [...new Set([...this.stored, ...snap.stored])].sort((a, b) => a - b).slice(-MAX_STORED_TRACKED)
    // Seqs from here on were never reserved by this page: the first send saves a reservation.
    if (this.seqs.reserved !== Infinity) this.seqs.reserved = snap.nextSeq
    for (const item of snap.items) {
      this.queue.push({
        channel: '',
        kind: item.kind,
        text: item.text,
        bytes: item.bytes,
        description: item.description,
        after: null,
        seq: item.seq,
        offline: item.offline,
        size: messageBodyBytes(item.kind, item.text, item.bytes),
        createdAt: now,
        deadline: Infinity,
        recoverable: false,
        sentAt: 0,
        dueAt: 0,
        backoff: 0,
        retry: false,
        acceptedAt: 0,
        path: null,
        attempts: 0,
        // A copy may have left after the last save (sending does not wait for it): the message
        // may have arrived, so a refusal now does not prove it did not.
        uncertain: true,
        skipNoted: true,
        relaysOut: 0,
        reported: false,
        resolve: (r) => settled(item, r),
      })
    }
    this.queue.sort((a, b) => a.seq - b.seq)
    this.pump()
  }

  /** The session is up: restored messages start their send timeout now. */
  startClock(): void {
    const now = this.now()
    for (const o of [...this.inflight.values(), ...this.queue]) {
      if (o.deadline === Infinity) {
        o.createdAt = now
        o.deadline = now + this.opts.timeoutMs
      }
    }
  }

  /** Nothing under way (stored messages the receiver has not acknowledged do not keep it alive). */
  get idle(): boolean {
    return this.inflight.size === 0 && this.queue.length === 0
  }

  send(body: OutgoingBody, size: number, options: SendOptions): Promise<SendResult> {
    const now = this.now()
    return new Promise((resolve) => {
      // Every field spelled out (no spread): one object shape for all, which V8 keeps fast.
      this.queue.push({
        channel: body.channel,
        kind: body.kind,
        text: body.text,
        bytes: body.bytes,
        description: body.description,
        after: body.after ?? null,
        seq: this.nextSeq++,
        offline: options.offline,
        size,
        createdAt: now,
        deadline: now + (options.timeoutMs ?? this.opts.timeoutMs),
        recoverable: options.recoverable ?? false,
        sentAt: 0,
        dueAt: 0,
        backoff: 0,
        retry: false,
        acceptedAt: 0,
        path: null,
        attempts: 0,
        uncertain: false,
        skipNoted: false,
        relaysOut: 0,
        reported: false,
        resolve,
      })
      this.pump()
      if (body.channel === '') this.onChange()
    })
  }

  /** The receiver's acknowledgement: everything up to `upTo` reached its app but what it says is missing. */
  onAck(ack: Pick<PeerAckFrame, 'upTo' | 'missing' | 'known'>): void {
    if (this.stored.length && this.stored[0] <= ack.upTo) {
      this.stored = this.stored.filter((seq) => seq > ack.upTo)
      this.onChange()
    }
    const now = this.now()
    let sample: Outgoing | null = null
    let progressed = false
    // In seq order, over a copy: settling changes the map.
    const missing = ack.missing.length > 0
    for (const o of [...this.inflight.values()]) {
      if (o.seq > ack.upTo) break
      // Karn: only a copy sent once says how long the round trip takes.
      if (o.attempts === 1 && (o.path === 'direct' || o.path === 'relay')) sample = o
      progressed = true
      if (missing && inRanges(o.seq, ack.missing)) this.settle(o, o.skipNoted ? PeerMessageState.SENT_TIMEOUT : PeerMessageState.FAILURE)
      else if (o.seq < ack.known) this.settle(o, PeerMessageState.SENT_TIMEOUT)
      else this.settle(o, PeerMessageState.RECEIVED_BY_PEER)
    }
    if (sample) this.measure(sample.path as 'direct' | 'relay', now - sample.sentAt)
    if (progressed) {
      this.lastProgress = now
      this.dupAcks = 0
    } else this.onDuplicateAck(now)
    this.pump()
  }

  /**
   * An acknowledgement that settles nothing while messages are out: the receiver got a later
   * one (or a copy twice) but not the first — on ordered paths, the first was lost (a receiver's
   * socket died with it, say). The second in a row sends it again at once, as TCP's fast
   * retransmit does, unless a copy left too recently to have arrived.
   */
  private onDuplicateAck(now: number): void {
    const first = this.inflight.values().next()
    if (first.done) return
    const o = first.value
    if (++this.dupAcks < 2) return
    const srtt = (o.path === 'direct' || o.path === 'relay' ? this.rtt[o.path]?.srtt : undefined) ?? this.opts.retransmitMs
    if (now - o.sentAt < srtt) return
    this.dupAcks = 0
    this.transmit(o, o.path === 'direct')
  }

  /** The retransmission timeout of a path now (before backoff). */
  private rto(path: Path | null): number {
    const est = path === 'direct' || path === 'relay' ? this.rtt[path] : null
    const min = this.opts.minRetransmitMs ?? 500
    const max = this.opts.maxRetransmitMs ?? 8000
    if (!est) return this.opts.retransmitMs
    return Math.min(max, Math.max(min, est.srtt + Math.max(min, 4 * est.rttvar)))
  }

  private measure(path: 'direct' | 'relay', sample: number): void {
    const est = this.rtt[path]
    if (!est) this.rtt[path] = { srtt: sample, rttvar: sample / 2 }
    else {
      est.rttvar = 0.75 * est.rttvar + 0.25 * Math.abs(est.srtt - sample)
      est.srtt = 0.875 * est.srtt + 0.125 * sample
    }
  }

  /**
   * Timer tick: time out, and send again what was not acknowledged in time. `stalled`: this
   * process itself stood still (the tick came late): acknowledgements that arrived meanwhile are
   * read before anything is taken for lost.
   */
  tick(stalled = false): void {
    const now = this.now()
    const recovering: Outgoing[] = []
    for (const o of [...this.inflight.values(), ...this.queue]) {
      if (o.deadline <= now) this.settle(o, PeerMessageState.SENT_TIMEOUT)
      else if (o.recoverable && now - o.createdAt > this.opts.timeoutMs && certainlyNotDelivered(o) && !this.transport.isMember(o.channel, this.uid)) {
        // The receiver is not in the channel (it left, or has not come back since a node restart)
        // and no copy reached it.
        this.settle(o, PeerMessageState.FAILURE)
      } else if (o.recoverable && now - o.createdAt > this.opts.timeoutMs) {
        // Past the send timeout the sender hears SENT_TIMEOUT (not confirmed); the copy stays,
        // for a member that comes back within the recovery window.
        this.report(o, PeerMessageState.SENT_TIMEOUT)
        recovering.push(o)
      }
    }
    // Beyond the send timeout only the most recent few are kept for the receiver's return.
    for (const o of recovering.slice(0, Math.max(0, recovering.length - this.opts.recoveryMessages))) {
      this.settle(o, PeerMessageState.SENT_TIMEOUT)
    }
    for (const o of this.inflight.values()) {
      if (now < o.dueAt || stalled) continue
      // Its relay request is not answered yet: the node has it in line (or our connection
      // drops, or the request times out, and then it goes again). Another copy would only
      // queue behind it.
      if (o.path === 'relay' && o.relaysOut > 0) continue
      if (o.retry) {
        this.transmit(o)
        continue
      }
      // A path that is merely slow is not sent into again: while acknowledgements keep settling
      // messages within the timeout, this one is queued behind them (every path is ordered).
      // Only when nothing moves for a whole timeout is a copy taken for lost — then it goes
      // again, through the relay if it went direct (the link may be dead), waiting twice as
      // long each time. A copy the node accepted is in the receiver's session: its loss shows
      // as duplicate acknowledgements (see onDuplicateAck) or our own reconnect (resendVia), so
      // the timeout is only a last resort for it, and a long one — under load the node holds a
      // receiver's acknowledgements behind its own uploads for seconds.
      const wait = o.acceptedAt ? Math.max(this.opts.acceptedWaitMs ?? ACCEPTED_WAIT_MS, this.wait(o)) : this.wait(o)
      const since = Math.max(o.sentAt, o.acceptedAt, this.lastProgress)
      if (now - since < wait) {
        o.dueAt = since + wait
        continue
      }
      o.backoff++
      this.transmit(o, o.path === 'direct')
    }
    this.pump()
  }

  /** A path came back (link open, rendezvous reconnected): resend what waits on a dead path. */
  resendVia(path: Path | null): void {
    for (const o of this.inflight.values()) if (o.path === path || o.sentAt === 0) this.transmit(o)
    this.pump()
  }

  /** Gives up a channel's pending copies (the node said the receiver left, or we left). */
  dropChannel(channel: string): void {
    for (const o of [...this.inflight.values(), ...this.queue]) {
      if (o.channel === channel) this.settle(o, certainlyNotDelivered(o) ? PeerMessageState.FAILURE : PeerMessageState.SENT_TIMEOUT)
    }
    this.pump()
  }

  /** Ends everything pending with `state` (logout). */
  failAll(state: PeerMessageState): void {
    for (const o of [...this.inflight.values(), ...this.queue]) this.settle(o, state)
  }

  /** The lowest seq the receiver must not give up on: unsettled, or in the store and not acknowledged. */
  private floor(): number {
    const first = this.inflight.keys().next()
    const unsettled = !first.done ? first.value : (this.queue[0]?.seq ?? this.nextSeq)
    return this.stored.length ? Math.min(unsettled, this.stored[0]) : unsettled
  }

  /** Sends what the window and the seq reservation allow. */
  pump(): void {
    if (this.queue.length > 0 && this.queue[this.queue.length - 1].seq >= this.seqs.reserved && !this.seqs.saving) this.seqs.request(this)
    const windowBytes = this.opts.directWindowBytes && this.transport.linkOpen?.(this.uid) ? this.opts.directWindowBytes : this.opts.windowBytes
    while (
      this.queue.length > 0 &&
      this.queue[0].seq < this.seqs.reserved &&
      this.inflight.size < this.opts.windowMessages &&
      (this.inflight.size === 0 || this.inflightBytes + this.queue[0].size <= windowBytes)
    ) {
      const o = this.queue.shift()!
      this.inflight.set(o.seq, o)
      this.inflightBytes += o.size
      this.transmit(o)
    }
  }

  private transmit(o: Outgoing, viaRelay = false): void {
    const now = this.now()
    const bytes = encodePeerFrame({
      type: PeerFrameType.MESSAGE,
      stream: this.stream,
      channel: o.channel,
      seq: o.seq,
      floor: this.floor(),
      sentTs: now,
      kind: o.kind,
      text: o.text,
      bytes: o.bytes,
      description: o.description,
      after: o.after,
    })
    o.sentAt = now
    o.attempts++
    o.retry = false
    o.acceptedAt = 0
    if (!viaRelay && this.transport.direct(this.uid, bytes)) {
      o.path = 'direct'
      o.uncertain = true
      o.dueAt = now + this.wait(o)
      return
    }
    o.path = 'relay'
    o.dueAt = now + this.wait(o)
    const attempt = o.attempts
    if (attempt > 1) this.transport.resentByRelay?.()
    o.relaysOut++
    this.transport.relay(this.uid, bytes, o.offline).then(
      (status) => {
        o.relaysOut--
        this.onRelayStatus(o, status)
      },
      (err: unknown) => {
        o.relaysOut--
        this.onRelayError(o, attempt, err instanceof PlazaError ? err.code : ErrorCode.INTERNAL)
      },
    )
  }

  private onRelayStatus(o: Outgoing, status: RelayStatus): void {
    // The peer is online even if its acknowledgement overtook this answer (same socket read).
    if (status === RelayStatus.RELAYED) this.transport.peerReachable(this.uid)
    // STORED may be for a session that is only away (its socket dropped, or silent): its link may live.
    else if (status === RelayStatus.PEER_OFFLINE) this.transport.peerGone(this.uid)
    if (!this.inflight.has(o.seq)) return
    if (status === RelayStatus.RELAYED) {
      o.uncertain = true
      // Unless a later copy left meanwhile (direct, say): then that one is the one under way.
      if (o.path === 'relay') o.acceptedAt = this.now()
      return
    }
    if (status === RelayStatus.STORED) {
      o.path = 'offline'
      if (!this.stored.includes(o.seq)) {
        this.stored.push(o.seq)
        this.stored.sort((a, b) => a - b)
        if (this.stored.length > MAX_STORED_TRACKED) this.stored.shift()
      }
      this.settle(o, PeerMessageState.CACHED_BY_SERVER)
      // The peer is offline: what is still in flight before it goes the same way now, so that
      // the store keeps (or refuses) it too rather than leaving a gap the receiver waits on.
      // Not one whose relay request is still unanswered: the node answers it the same way.
      for (const earlier of this.inflight.values()) if (earlier.seq < o.seq && earlier.path !== 'offline' && earlier.relaysOut === 0) this.transmit(earlier, true)
    } else if (certainlyNotDelivered(o)) this.settle(o, PeerMessageState.PEER_UNREACHABLE)
    else if (o.channel === '') o.skipNoted = true
    this.pump()
  }

  private onRelayError(o: Outgoing, attempt: number, code: ErrorCode): void {
    if (!this.inflight.has(o.seq)) return
    const certain = code !== ErrorCode.CONNECTION_LOST && code !== ErrorCode.TIMEOUT && certainlyNotDelivered(o)
    if (code === ErrorCode.TOO_OFTEN && attempt === 1 && certain && !o.recoverable && !this.transport.withinRate?.()) this.settle(o, PeerMessageState.TOO_OFTEN)
    else if (code === ErrorCode.INVALID_USER_ID && certain) this.settle(o, PeerMessageState.INVALID_USER_ID)
    else if (code === ErrorCode.QUOTA_EXCEEDED && certain) this.settle(o, PeerMessageState.OFFLINE_QUOTA_EXCEEDED)
    // A media message's file could not be put in the node's store (too large, no longer held here).
    else if ((code === ErrorCode.MEDIA_TOO_LARGE || code === ErrorCode.MEDIA_NOT_FOUND || code === ErrorCode.MEDIA_INTEGRITY) && certain) {
      this.settle(o, PeerMessageState.FAILURE)
    }
    // Not allowed to publish (muted, say): never sent again, or it would be delivered once the
    // mute is lifted. A copy that went direct may have reached a member that had not heard of the
    // mute yet: then whether it arrived is not known.
    else if (code === ErrorCode.NOT_PERMITTED) this.settle(o, certain ? PeerMessageState.FAILURE : PeerMessageState.SENT_TIMEOUT)
    else if ((code === ErrorCode.INVALID_MESSAGE || code === ErrorCode.FRAME_TOO_LARGE) && certain) {
      this.settle(o, PeerMessageState.INVALID_MESSAGE)
    } else {
      // NOT_IN_CHANNEL is transient too: after a node restart the members (we among them) join
      // again one by one; a copy waits for its receiver until its timeout (see tick).
      // The node may have relayed it before the answer was lost.
      if (code === ErrorCode.CONNECTION_LOST || code === ErrorCode.TIMEOUT) o.uncertain = true
      // Transient (not connected, too often for now, lost): tried again soon, whatever the progress.
      o.retry = true
      o.dueAt = Math.min(o.dueAt, this.now() + this.rto(o.path) / 2)
    }
    this.pump()
  }

  /** How long a copy waits for its acknowledgement: the path's timeout, doubled per retransmission. */
  private wait(o: Outgoing): number {
    return Math.min(this.opts.maxRetransmitMs ?? 8000, this.rto(o.path) * 2 ** o.backoff)
  }

  private settle(o: Outgoing, state: PeerMessageState): void {
    if (this.inflight.delete(o.seq)) this.inflightBytes -= o.size
    else {
      const i = this.queue.indexOf(o)
      if (i < 0) return
      this.queue.splice(i, 1)
    }
    if (o.channel === '') this.onChange()
    if (o.channel === '' && NOT_DELIVERED.has(state)) this.whenSaved(() => this.report(o, state))
    else this.report(o, state)
  }

  private report(o: Outgoing, state: PeerMessageState): void {
    if (o.reported) return
    o.reported = true
    o.resolve({
      state,
      hasPeerReceived: state === PeerMessageState.RECEIVED_BY_PEER,
      path: o.sentAt !== 0 ? o.path : null,
    })
  }
}
