import {
  DEFAULT_LIMITS,
  FrameType,
  MessageKind,
  NODE_STREAM_PREFIX,
  PeerFrameType,
  PeerMessageState,
  RelayStatus,
  encodePeerFrame,
  isValidId,
  type ClientFrame,
  type OfflineDrop,
  type OfflineMessagesFrame,
  decodePeerFrame,
  decodeMediaInfo,
  deferOn,
  type PeerFrame,
  type PeerMessageFrame,
  type PeerSyncFrame,
  type TimerHandle,
} from '@plaza/protocol'
import type { Runtime } from '../runtime.js'
import { DebouncedWriter, type PlazaStorage } from '../storage/storage.js'
import type { ReceivedMessage } from '../types.js'
import { Inbox, type Arrival } from './inbox.js'
import { toMediaMessage } from '../media/media-message.js'
import { PeerOutbox, type OutgoingBody, type SendResult } from './outbox.js'
import { decodeInbox, decodeOutboxes, encodeInbox, encodeOutboxes } from './persist.js'

const TICK_MS = 250
/** How long after a retransmission through the relay a TOO_OFTEN from the node is put down to it. */
const RESEND_WINDOW_MS = 5000
const WINDOW_MESSAGES = 256
const WINDOW_BYTES = 1024 * 1024
/** While a direct link is open (measured: 1 MiB held a 16–32 KB bulk transfer to ~0.75× a raw data channel). */
const DIRECT_WINDOW_BYTES = 4 * 1024 * 1024
/** A tick this late means the process stood still (see PeerOutbox.tick). */
const STALL_MS = 4 * TICK_MS
/** Outboxes idle this long are forgotten (a later message starts a new stream). */
const OUTBOX_IDLE_MS = 10 * 60_000
/** Inbound streams kept in storage (the most recently heard). */
const MAX_SAVED_STREAMS = 512
/** Seqs reserved (saved) at a time per outbound stream. */
const SEQ_RESERVATION = 1024
/** Sender streams whose last drop notice is remembered (see newDropNotice). */
const MAX_DROPS_TOLD = 1024

/** What delivery needs from the client around it. */
export interface DeliveryHost {
  readonly appId: string
  /** Over the open direct link; false if there is none. */
  linkSend(uid: string, bytes: Uint8Array): boolean
  /** A direct link to `uid` is open (a larger window applies). */
  linkOpen(uid: string): boolean
  /** Worth building a direct link to `uid` (it is online). */
  linkWanted(uid: string): void
  /** `uid` has no session: drop any link to it. */
  linkGone(uid: string): void
  relay(to: string, bytes: Uint8Array, offline: boolean): Promise<RelayStatus>
  sendToNode(frame: ClientFrame): boolean
  /**
   * Hands a message to the app; false if it is refused (a channel this client is not in); 'held'
   * if it reaches the app later (then PeerDelivery.released says when).
   */
  deliver(from: string, frame: PeerMessageFrame, arrival: Arrival): boolean | 'held'
  /** A message restored after a reload settled (its original promise is gone). */
  restoredSettled(peer: string, message: ReceivedMessage, result: SendResult): void
  /** The node's per-receiver cap dropped `count` stored messages from `from`. */
  offlineDropped(from: string, count: number): void
  /** The node's clock now, as far as this client can tell; null before the first login. */
  nodeNow(): number | null
  /** `uid` is in `channel` as far as this client knows. */
  isMember(channel: string, uid: string): boolean
  /** The app sends within its message rate (see OutboxTransport.withinRate). */
  withinRate(): boolean
  /** Channel messages from `uid` over a direct link are taken: a member, not muted, allowed to publish. */
  acceptsChannelMessage(channel: string, uid: string): boolean
}

export interface DeliveryOptions {
  messageTimeoutMs: number
}

/**
 * Peer-to-peer delivery for one client: an outbox (ordered, acknowledged stream) per remote
 * user, one inbox for everything received, the acknowledgements between them, and what of it
 * survives a reload. Exactly once holds across reconnects and, with durable storage, across
 * reloads: the inbox's record of a stream is saved before the stream is acknowledged.
 */
export class PeerDelivery {
  private readonly outboxes = new Map<string, { box: PeerOutbox; lastUsed: number }>()
  private readonly inbox: Inbox
  private readonly writer: DebouncedWriter
  private tickTimer: TimerHandle | null = null
  private lastTick = 0
  private outboxCounter = 0
  private readonly instanceId: string
  /** The user whose state is loaded ('' none): a different user starts from nothing. */
  private uid = ''
  /** Streams whose ACK waits: for the inbox to be saved (durable storage), or for the end of the turn. */
  private acksDue = new Map<string, [from: string, stream: string]>()
  /** The other map of the pair acksDue swaps with when it sends (no copy per turn). */
  private acksSending = new Map<string, [from: string, stream: string]>()
  /** The end of the turn will send the ACKs due (see ackChanged). */
  private acksScheduled = false
  /** The last drop notice told to the app per sender stream (see newDropNotice), oldest first. */
  private readonly dropsTold = new Map<string, string>()
  /** Acknowledgements that came due in this turn, and in the last (see ackChanged). */
  private turnAcks = 0
  private lastTurnAcks = 0
  /** Stored copies this inbox is past: the node may delete them (once our record is saved). */
  private offlineDone: number[] = []
  /** When a copy last went through the relay again (see OutboxTransport.withinRate). */
  private lastRelayResend = -Infinity

  constructor(
    private readonly host: DeliveryHost,
    private readonly storage: PlazaStorage,
    private readonly rt: Runtime,
    private readonly opts: DeliveryOptions,
  ) {
    this.instanceId = rt.randomId()
    this.writer = new DebouncedWriter(storage, rt.clock)
    this.inbox = new Inbox(
      (from, f, arrival) => !arrival.refused && this.host.deliver(from, f, arrival),
      (from, stream) => this.ackChanged(from, stream),
      (arrival) => {
        if (arrival.offlineId !== undefined) this.offlineDone.push(arrival.offlineId)
      },
      () => this.host.nodeNow(),
    )
  }

  get durable(): boolean {
    return this.storage.durable === true
  }

  /**
   * Before logging in as `uid`: takes back what a previous run left in storage (unsettled
   * messages go again on their old streams; the inbox remembers what it delivered).
   */
  async load(uid: string): Promise<void> {
    if (uid === this.uid) return
    this.uid = uid
    this.inbox.clear()
    this.dropsTold.clear()
    this.outboxes.clear()
    if (!this.durable) return
    const [outboxBytes, inboxBytes] = await Promise.all([
      this.storage.get(this.outboxKey()).catch(() => undefined),
      this.storage.get(this.inboxKey()).catch(() => undefined),
    ])
    if (this.uid !== uid) return
    if (inboxBytes) this.inbox.restore(decodeInbox(inboxBytes))
    for (const snap of outboxBytes ? decodeOutboxes(outboxBytes) : []) {
      if (this.outboxes.has(snap.peer) || !isValidId(snap.peer) || snap.peer === uid) continue
      this.outboxFor(snap.peer, snap.stream).restore(snap, (item, result) => {
        this.host.restoredSettled(snap.peer, restoredMessage(item), result)
      })
    }
  }

  send(peer: string, body: OutgoingBody, size: number, offline: boolean): Promise<SendResult> {
    return this.outboxFor(peer).send(body, size, { offline })
  }

  /** One copy of a channel message per member (`body`, or what it gives for that member); resolves with each copy's outcome. */
  sendChannelCopies(members: string[], body: OutgoingBody | ((member: string) => OutgoingBody), size: number): Promise<{ member: string; result: SendResult }[]> {
    return Promise.all(
      members.map((member) =>
        this.outboxFor(member)
          .send(typeof body === 'function' ? body(member) : body, size, { offline: false, timeoutMs: DEFAULT_LIMITS.channelRecoveryMs, recoverable: true })
          .then((result) => ({ member, result })),
      ),
    )
  }

  /**
   * A peer frame from `from` (direct link, relay or store): messages and acknowledgements are
   * handled here; a channel's sync frame is returned for the channel. Malformed frames are
   * dropped (the sender's retransmission decides).
   */
  onPeerBytes(from: string, bytes: Uint8Array, arrival: Arrival): PeerSyncFrame | null {
    let f: PeerFrame
    try {
      f = decodePeerFrame(bytes)
    } catch {
      return null
    }
    if (f.type === PeerFrameType.SYNC) return f
    if (f.type === PeerFrameType.ACK) {
      const entry = this.outboxes.get(from)
      if (entry && entry.box.stream === f.stream) entry.box.onAck(f)
      return null
    }
    if (arrival.path === 'direct' && f.channel) {
      // Over a direct link a channel message counts only from a member, by the node's word
      // (through the relay the node checked already). From one we have not heard of yet it is
      // dropped unacknowledged: it sends it again. From a member that may not publish (muted,
      // or not granted) it is refused for good: the ACK says so (the sender hears FAILURE), and
      // no later copy of it is delivered, not even once the mute is lifted.
      if (!this.host.isMember(f.channel, from)) return null
      arrival = { path: 'direct', serverTs: f.sentTs, refused: !this.host.acceptsChannelMessage(f.channel, from) }
    } else if (arrival.path === 'direct') arrival = { path: 'direct', serverTs: f.sentTs }
    this.startTick()
    this.inbox.onMessage(from, f, arrival, this.rt.clock.now())
    if (this.offlineDone.length && arrival.path !== 'offline') this.ackOffline(false)
    return null
  }

  /** A message the host held (its deliver said 'held') reached the app: it is acknowledged now. */
  released(from: string, stream: string, seq: number): void {
    this.inbox.release(from, stream, seq)
  }

  /** Stored messages from the node: drop notices first (they are older), then the messages, oldest first. */
  onOffline(f: OfflineMessagesFrame): void {
    const now = this.rt.clock.now()
    const counts = new Map<string, number>()
    for (const d of f.dropped) if (this.newDropNotice(d)) counts.set(d.from, (counts.get(d.from) ?? 0) + d.count)
    // A record may only name seqs to skip (plain messages answered PEER_OFFLINE): nothing dropped.
    for (const [from, count] of counts) if (count > 0) this.host.offlineDropped(from, count)
    for (const d of f.dropped) this.inbox.onDropped(d.from, d.stream, d.ranges, now)
    for (const m of f.messages) this.onPeerBytes(m.from, m.payload, { path: 'offline', serverTs: m.serverTs, offlineId: m.id })
    // Old stored copies waiting behind a message their sender gave up on go to the app now.
    this.inbox.tick(now)
    // Only what the inbox is past is acknowledged: a message waiting for an earlier one stays stored.
    this.ackOffline(f.dropped.length > 0)
  }

  /**
   * False for a drop notice told already: the node sends its notices again after a reconnect
   * when the first copy came but its acknowledgement was lost with the old socket. (A notice
   * that grew meanwhile is told whole again: rare, and not worth guessing at.)
   */
  private newDropNotice(d: OfflineDrop): boolean {
    const key = `${d.from}\u0000${d.stream}`
    const said = `${d.count}:${d.ranges.join(';')}`
    if (this.dropsTold.get(key) === said) return false
    this.dropsTold.delete(key)
    this.dropsTold.set(key, said)
    if (this.dropsTold.size > MAX_DROPS_TOLD) this.dropsTold.delete(this.dropsTold.keys().next().value!)
    return true
  }

  /** Tells the store which stored copies it may delete, once our record of them is safe. */
  private ackOffline(evenIfNone: boolean): void {
    const ids = this.offlineDone
    this.offlineDone = []
    if (!ids.length && !evenIfNone) return
    const send = () => this.host.sendToNode({ type: FrameType.OFFLINE_ACK, ids })
    if (this.durable) void this.writer.flush().then(send)
    else send()
  }

  /** The link to `uid` closed: what went over it and is not acknowledged goes again. */
  onLinkClosed(uid: string): void {
    this.outboxes.get(uid)?.box.resendVia('direct')
  }

  /** The connection to the node dropped (or ended): the inbox's gaps stop aging. */
  onNodeLost(): void {
    this.inbox.setConnected(false, this.rt.clock.now())
  }

  /** Logged in (again): what waited for the node goes now. */
  onReady(): void {
    this.inbox.setConnected(true, this.rt.clock.now())
    for (const { box } of this.outboxes.values()) {
      box.startClock()
      box.resendVia('relay')
    }
    if (this.outboxes.size) this.startTick()
  }

  /**
   * Logged out or aborted: pending sends end with `state`. The streams stay (so what this user
   * sends after the next login comes after everything sent before), and so does the inbox.
   */
  endSession(state: PeerMessageState): void {
    this.onNodeLost()
    for (const { box } of this.outboxes.values()) box.failAll(state)
    this.stopTick()
    this.saveOutbox()
  }

  /** Gives up pending copies of a channel's messages, to one member or to all. */
  dropChannel(channel: string, uid: string | null): void {
    if (uid) this.outboxes.get(uid)?.box.dropChannel(channel)
    else for (const { box } of this.outboxes.values()) box.dropChannel(channel)
  }

  flushStorage(): Promise<void> {
    return this.writer.flush()
  }

  get storageIdle(): boolean {
    return this.writer.idle
  }

  private outboxFor(uid: string, restoredStream?: string): PeerOutbox {
    const now = this.rt.clock.now()
    let entry = this.outboxes.get(uid)
    if (!entry) {
      const stream = restoredStream ?? `${this.instanceId}.${(this.outboxCounter++).toString(36)}`
      const box = new PeerOutbox(
        uid,
        stream,
        {
          direct: (to, bytes) => this.host.linkSend(to, bytes),
          linkOpen: (to) => this.host.linkOpen(to),
          relay: (to, bytes, offline) => this.host.relay(to, bytes, offline),
          peerReachable: (to) => this.host.linkWanted(to),
          peerGone: (to) => this.host.linkGone(to),
          isMember: (channel, to) => this.host.isMember(channel, to),
          // The node's budget went to retransmissions lately (its window is a few seconds), and the app is within its own rate.
          withinRate: () => this.rt.clock.now() - this.lastRelayResend < RESEND_WINDOW_MS && this.host.withinRate(),
          resentByRelay: () => (this.lastRelayResend = this.rt.clock.now()),
        },
        {
          timeoutMs: this.opts.messageTimeoutMs,
          retransmitMs: 2000,
          windowMessages: WINDOW_MESSAGES,
          windowBytes: WINDOW_BYTES,
          directWindowBytes: DIRECT_WINDOW_BYTES,
          recoveryMessages: DEFAULT_LIMITS.channelRecoveryMessages,
        },
        () => this.rt.clock.now(),
        () => this.saveOutbox(),
        {
          reserved: this.durable ? 1 : Infinity,
          saving: 0,
          request: (b) => this.reserveSeqs(b),
        },
        (fn) => {
          if (this.durable) void this.writer.flush().then(fn)
          else fn()
        },
      )
      this.outboxes.set(uid, (entry = { box, lastUsed: now }))
    }
    entry.lastUsed = now
    this.startTick()
    return entry.box
  }

  private ackChanged(from: string, stream: string): void {
    if (!this.durable) {
      // Acknowledgements are cumulative: what arrives in one turn (one socket read, or every
      // data channel message WebRTC hands over at one wake-up) is acknowledged once per stream,
      // at its end — half the data channel sends of a bulk transfer. But a lone message (the turn
      // before held at most one: request and answer, not a stream) is acknowledged at once: its
      // sender waits on it, and the turn's end can come late on a busy event loop (round trips
      // over a direct link, median / p99 against the raw channel: 1.18–1.22 / 1.40–1.47 with
      // every ACK at the turn's end, 1.09–1.15 / 0.95–1.18 so; bulk unchanged).
      const first = !this.acksScheduled
      if (first) {
        this.acksScheduled = true
        this.turnAcks = 0
        deferOn(this.rt, () => {
          this.acksScheduled = false
          this.lastTurnAcks = this.turnAcks
          this.sendDueAcks()
        })
      }
      this.turnAcks++
      if (first && this.lastTurnAcks <= 1) return this.sendAck(from, stream)
      this.acksDue.set(`${from}\u0000${stream}`, [from, stream])
      return
    }
    this.acksDue.set(`${from}\u0000${stream}`, [from, stream])
    this.writer.schedule(this.inboxKey(), () => encodeInbox(this.inbox.snapshot(MAX_SAVED_STREAMS)), true)
    void this.writer.flush().then(() => this.sendDueAcks())
  }

  private sendDueAcks(): void {
    const due = this.acksDue
    this.acksDue = this.acksSending
    this.acksSending = due
    for (const [f, s] of due.values()) this.sendAck(f, s)
    due.clear()
  }

  private sendAck(to: string, stream: string): void {
    const state = this.inbox.ackState(to, stream)
    if (!state) return
    const bytes = encodePeerFrame({ type: PeerFrameType.ACK, stream, upTo: state.upTo, missing: state.missing, known: state.known })
    // Streams of the node (messages from an app's server) are acknowledged through the node; so
    // is a stream whose last message came through it (Inbox.cameByRelay: an ACK sent into a dead
    // sender's link is lost, and its messages waited 5 s for a retransmission).
    if (stream.startsWith(NODE_STREAM_PREFIX) || this.inbox.cameByRelay(to, stream) || !this.host.linkSend(to, bytes)) {
      this.host.sendToNode({ type: FrameType.RELAY_TO, reqId: 0, to, offline: false, payload: bytes })
    }
  }

  /** Saves a higher seq ceiling for a stream before any seq under it is sent. */
  private reserveSeqs(box: PeerOutbox): void {
    const target = box.next + SEQ_RESERVATION
    box.seqs.saving = target
    this.saveOutbox()
    void this.writer.flush().then(() => {
      if (box.seqs.saving !== target) return
      box.seqs.reserved = target
      box.seqs.saving = 0
      box.pump()
    })
  }

  private saveOutbox(): void {
    if (!this.uid || !this.durable) return
    this.writer.schedule(this.outboxKey(), () => {
      // Every live stream, even with nothing pending: the next page load goes on with it, so
      // what it sends comes after everything this one sent (stored messages included).
      const peers = [...this.outboxes].map(([peer, { box }]) => ({ peer, ...box.snapshot() }))
      return peers.length ? encodeOutboxes(peers) : null
    })
  }

  private outboxKey(): string {
    return `outbox/${this.host.appId}/${this.uid}`
  }

  private inboxKey(): string {
    return `inbox/${this.host.appId}/${this.uid}`
  }

  private startTick(): void {
    if (this.tickTimer) return
    this.lastTick = this.rt.clock.now()
    this.tickTimer = this.rt.clock.setInterval(() => {
      const now = this.rt.clock.now()
      const stalled = now - this.lastTick > STALL_MS
      this.lastTick = now
      for (const [uid, entry] of this.outboxes) {
        entry.box.tick(stalled)
        if (entry.box.idle && now - entry.lastUsed > OUTBOX_IDLE_MS) this.outboxes.delete(uid)
      }
      this.inbox.tick(now)
      if (this.offlineDone.length) this.ackOffline(false)
      if (this.outboxes.size === 0 && !this.inbox.hasGaps) this.stopTick()
    }, TICK_MS)
  }

  private stopTick(): void {
    this.rt.clock.clearInterval(this.tickTimer)
    this.tickTimer = null
  }
}

/** A restored outbox item as the app sent it. */
function restoredMessage(item: { kind: MessageKind; text: string; bytes: Uint8Array; description: string }): ReceivedMessage {
  if (item.kind === MessageKind.TEXT) return { messageType: 'TEXT', text: item.text }
  if (item.kind === MessageKind.MEDIA) {
    try {
      return toMediaMessage(decodeMediaInfo(item.bytes), item.description)
    } catch {
      // fall through: shown as the raw bytes it was
    }
  }
  return { messageType: 'RAW', rawMessage: item.bytes, description: item.description }
}
