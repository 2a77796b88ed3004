import {
  ErrorCode,
  MessageKind,
  PeerFrameType,
  PeerMessageState,
  PlazaError,
  RelayStatus,
  encodePeerFrame,
  messageBodyBytes,
} from '@plaza/protocol'

export type Path = 'direct' | 'relay' | 'offline'

export interface SendResult {
  state: PeerMessageState
  /** True when the receiver's app got the message (RECEIVED_BY_PEER). */
  hasPeerReceived: boolean
  /** The path of the copy that settled it; null when it never left. */
  path: Path | null
}

export interface OutgoingBody {
  /** '' for a peer message. */
  channel: string
  kind: MessageKind
  text: string
  bytes: Uint8Array
  description: string
}

interface Outgoing extends OutgoingBody {
  seq: number
  offline: boolean
  size: number
  createdAt: number
  deadline: number
  /** Kept past the send timeout, for a member that comes back (channel messages). */
  recoverable: boolean
  /** When the last copy left; 0 = never sent. */
  sentAt: number
  path: Path | null
  attempts: number
  resolve: (r: SendResult) => void
}

export interface OutboxTransport {
  /** Sends over an open direct link; false if there is none (or it is full). */
  direct(uid: string, bytes: Uint8Array): boolean
  /** Relays through the rendezvous; rejects with PlazaError (NOT_CONNECTED when offline). */
  relay(uid: string, bytes: Uint8Array, offline: boolean): Promise<RelayStatus>
  /** The peer was reached through the relay, so it is online: a direct link is worth building. */
  peerReachable(uid: string): void
  /** The node says the peer has no session: any direct link to it is dead. */
  peerGone(uid: string): void
}

export interface OutboxOptions {
  /** A message not settled in this time resolves SENT_TIMEOUT. Default 10 s. */
  timeoutMs: number
  /** An unacknowledged copy is sent again after this long. Default 2 s. */
  retransmitMs: number
  /** Flow control: most messages and bytes unacknowledged per receiver. */
  windowMessages: number
  windowBytes: number
  /** Recoverable messages past `timeoutMs` kept at most this many per receiver. */
  recoveryMessages: number
}

/** What survives a reload: the stream, where it stands, and its unsettled peer messages. */
export interface OutboxSnapshot {
  stream: string
  nextSeq: number
  items: { seq: number; offline: boolean; kind: MessageKind; text: string; bytes: Uint8Array; description: string }[]
}

export interface SendOptions {
  offline: boolean
  /** Overrides the options' timeout (channel copies are kept longer). */
  timeoutMs?: number
  recoverable?: boolean
}

/**
 * The sending half towards one user: an ordered stream (`stream`, seq from 1) with a bounded
 * window of unacknowledged messages. Each copy goes the fastest way that works now; a message
 * is settled only by the receiver's acknowledgement, the store's, or the node's "offline".
 */
export class PeerOutbox {
  private nextSeq = 1
  private readonly inflight = new Map<number, Outgoing>()
  private readonly queue: Outgoing[] = []
  private inflightBytes = 0

  constructor(
    readonly uid: string,
    readonly stream: string,
    private readonly transport: OutboxTransport,
    private readonly opts: OutboxOptions,
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** The unsettled peer messages (channel copies are not kept across a reload). */
  snapshot(): OutboxSnapshot {
    const items = [...this.inflight.values(), ...this.queue]
      .filter((o) => o.channel === '')
      .map(({ seq, offline, kind, text, bytes, description }) => ({ seq, offline, kind, text, bytes, description }))
    return { stream: this.stream, nextSeq: this.nextSeq, items }
  }

  /** Takes back a snapshot's messages (before anything new is sent); each settles through `settled`. */
  restore(snap: OutboxSnapshot, now: number, settled: (item: OutboxSnapshot['items'][number], r: SendResult) => void): void {
    this.nextSeq = Math.max(this.nextSeq, snap.nextSeq)
    for (const item of snap.items) {
      this.queue.push({
        channel: '',
        kind: item.kind,
        text: item.text,
        bytes: item.bytes,
        description: item.description,
        seq: item.seq,
        offline: item.offline,
        size: messageBodyBytes(item.kind, item.text, item.bytes),
        createdAt: now,
        deadline: now + this.opts.timeoutMs,
        recoverable: false,
        sentAt: 0,
        path: null,
        attempts: 0,
        resolve: (r) => settled(item, r),
      })
    }
    this.queue.sort((a, b) => a.seq - b.seq)
    this.pump(now)
  }

  get idle(): boolean {
    return this.inflight.size === 0 && this.queue.length === 0
  }

  send(body: OutgoingBody, size: number, now: number, options: SendOptions): Promise<SendResult> {
    return new Promise((resolve) => {
      this.queue.push({
        ...body,
        seq: this.nextSeq++,
        offline: options.offline,
        size,
        createdAt: now,
        deadline: now + (options.timeoutMs ?? this.opts.timeoutMs),
        recoverable: options.recoverable ?? false,
        sentAt: 0,
        path: null,
        attempts: 0,
        resolve,
      })
      this.pump(now)
      if (body.channel === '') this.onChange()
    })
  }

  /** Cumulative acknowledgement from the receiver. */
  onAck(upTo: number, now: number): void {
    for (const o of [...this.inflight.values()]) {
      if (o.seq > upTo) break
      this.settle(o, PeerMessageState.RECEIVED_BY_PEER)
    }
    this.pump(now)
  }

  /** Timer tick: time out, and send again what was not acknowledged in time. */
  tick(now: number): void {
    const recovering: Outgoing[] = []
    for (const o of [...this.inflight.values(), ...this.queue]) {
      if (o.deadline <= now) this.settle(o, PeerMessageState.SENT_TIMEOUT)
      else if (o.recoverable && now - o.createdAt > this.opts.timeoutMs) recovering.push(o)
    }
    // Beyond the send timeout only the most recent few are kept for the receiver's return.
    for (const o of recovering.slice(0, Math.max(0, recovering.length - this.opts.recoveryMessages))) {
      this.settle(o, PeerMessageState.SENT_TIMEOUT)
    }
    for (const o of this.inflight.values()) {
      // A copy sent direct and not acknowledged goes again through the relay: the link may be dead.
      if (now - o.sentAt >= this.opts.retransmitMs) this.transmit(o, now, o.path === 'direct')
    }
    this.pump(now)
  }

  /** A path came back (link open, rendezvous reconnected): resend what waits on a dead path. */
  resendVia(path: Path | null, now: number): void {
    for (const o of this.inflight.values()) if (o.path === path || o.sentAt === 0) this.transmit(o, now)
    this.pump(now)
  }

  /** Gives up a channel's pending copies (the receiver or we left it). */
  dropChannel(channel: string, now: number): void {
    for (const o of [...this.inflight.values(), ...this.queue]) if (o.channel === channel) this.settle(o, PeerMessageState.FAILURE)
    this.pump(now)
  }

  /** Ends everything pending with `state` (logout). */
  failAll(state: PeerMessageState): void {
    for (const o of [...this.inflight.values(), ...this.queue]) this.settle(o, state)
  }

  private floor(): number {
    const first = this.inflight.keys().next()
    if (!first.done) return first.value
    return this.queue[0]?.seq ?? this.nextSeq
  }

  private pump(now: number): void {
    while (
      this.queue.length > 0 &&
      this.inflight.size < this.opts.windowMessages &&
      (this.inflight.size === 0 || this.inflightBytes + this.queue[0].size <= this.opts.windowBytes)
    ) {
      const o = this.queue.shift()!
      this.inflight.set(o.seq, o)
      this.inflightBytes += o.size
      this.transmit(o, now)
    }
  }

  private transmit(o: Outgoing, now: number, viaRelay = false): void {
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
    })
    o.sentAt = now
    o.attempts++
    if (!viaRelay && this.transport.direct(this.uid, bytes)) {
      o.path = 'direct'
      return
    }
    o.path = 'relay'
    const attempt = o.attempts
    this.transport.relay(this.uid, bytes, o.offline).then(
      (status) => {
        // The peer is online even if its acknowledgement overtook this answer (same socket read).
        if (status === RelayStatus.RELAYED) this.transport.peerReachable(this.uid)
        else this.transport.peerGone(this.uid)
        if (!this.inflight.has(o.seq)) return
        if (status === RelayStatus.RELAYED) return
        if (status === RelayStatus.STORED) {
          o.path = 'offline'
          this.settle(o, PeerMessageState.CACHED_BY_SERVER)
        } else this.settle(o, PeerMessageState.PEER_UNREACHABLE)
        this.pump(Date.now())
      },
      (err: unknown) => {
        if (!this.inflight.has(o.seq)) return
        const code = err instanceof PlazaError ? err.code : ErrorCode.INTERNAL
        // First attempts report refusals; a refused retransmission just waits for the next try.
        if (code === ErrorCode.TOO_OFTEN && attempt === 1) this.settle(o, PeerMessageState.TOO_OFTEN)
        else if (code === ErrorCode.INVALID_USER_ID) this.settle(o, PeerMessageState.INVALID_USER_ID)
        else if (code === ErrorCode.INVALID_MESSAGE || code === ErrorCode.FRAME_TOO_LARGE) {
          this.settle(o, PeerMessageState.INVALID_MESSAGE)
        } else o.sentAt = Math.min(o.sentAt, Date.now() - this.opts.retransmitMs / 2)
        this.pump(Date.now())
      },
    )
  }

  private settle(o: Outgoing, state: PeerMessageState): void {
    if (this.inflight.delete(o.seq)) this.inflightBytes -= o.size
    else {
      const i = this.queue.indexOf(o)
      if (i < 0) return
      this.queue.splice(i, 1)
    }
    const sent = o.sentAt !== 0
    if (o.channel === '') this.onChange()
    o.resolve({
      state,
      hasPeerReceived: state === PeerMessageState.RECEIVED_BY_PEER,
      path: sent ? o.path : null,
    })
  }
}
