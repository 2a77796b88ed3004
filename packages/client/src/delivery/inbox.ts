import { BROADCAST_STREAM_PREFIX, type PeerMessageFrame, type SeqRange } from '@plaza/protocol'

export interface Arrival {
  /** Which way this copy came. */
  path: 'direct' | 'relay' | 'offline'
  /** The node's clock when it took the frame (relay, offline), else the sender's send time. */
  serverTs: number
  /** The store's id of a stored copy (acknowledged to the node once this inbox is past it). */
  offlineId?: number
  /** Refused on arrival (its sender may not publish there): recorded as missing, never handed to the app. */
  refused?: boolean
}

/** What an ACK says about one stream (see PeerAckFrame). */
export interface AckState {
  upTo: number
  missing: SeqRange[]
  known: number
}

/** One stream's receiving state as it is kept across a reload (waiting frames are not: senders resend them). */
export interface StreamRecord {
  from: string
  stream: string
  expected: number
  known: number
  missing: SeqRange[]
  lastActive: number
  /** Seqs below `expected` handed over that had not reached the app (held) when saved: delivered when they come again. */
  held: number[]
}

interface StreamState {
  /** Next seq to hand to the app; 0 until the first frame says where the stream starts. */
  expected: number
  /** Out-of-order arrivals waiting for a gap to fill, by seq. */
  waiting: Map<number, { frame: PeerMessageFrame; arrival: Arrival }>
  /** Seqs below `expected` that were not handed to the app, oldest first (bounded). */
  missing: SeqRange[]
  /** Lowest seq this state describes exactly; older missing ranges were forgotten. */
  known: number
  /** Seqs the node's store dropped (the per-receiver cap): never waited for. */
  dropped: SeqRange[]
  /** The highest floor the sender announced. */
  senderFloor: number
  /**
   * Seqs handed over but not yet to the app (a channel holds a copy behind the overlay message it
   * follows): not acknowledged, nor saved as delivered, until released (null: none).
   */
  held: Set<number> | null
  /** Held seqs of the last page (StreamRecord.held): delivered when they come again, until then not acknowledged (null: none). */
  redeliver: Set<number> | null
  /** Since when (on the gap clock) the stream has been waiting at `expected` with later seqs in hand (null: no gap). */
  gapSince: number | null
  lastActive: number
  /** The last message came through the relay (see cameByRelay). */
  viaRelay: boolean
}

/** Held seqs saved per stream (a channel holds at most its copies of one sender behind one overlay message, for 10 s). */
export const MAX_SAVED_HELD = 256
/** Distinct senders remembered; past it the least recently heard sender is forgotten. */
const MAX_SENDERS = 4096
/** Streams remembered per sender: one sender can only push out its own older streams. */
const MAX_STREAMS_PER_SENDER = 16
/** Senders keep at most their window (256) in flight, so more than this is a broken or hostile peer. */
const MAX_WAITING_PER_STREAM = 256
/** Out-of-order messages held across all streams: bounds what peers can make us keep (≤ 32 KB each). */
const MAX_WAITING_TOTAL = 4096
const MAX_MISSING_RANGES = 32
/** Ranges one ACK carries (the wire's cap is 16). */
const MAX_ACK_RANGES = 16
/**
 * A gap nobody fills for this long, while we are connected to the node, is skipped. A sender
 * retries a message for at most 30 s (channel copies), so past this it gave up without telling
 * us (it crashed, say). Time away from the node does not count: the missing message may be in
 * the node's store, which hands it over when we are back (a resume, or our next login).
 */
export const GAP_TIMEOUT_MS = 40_000
/** After a login a gap has at least this long left (the stored messages come first). */
const GAP_GRACE_AFTER_LOGIN_MS = 10_000

/**
 * The receiving half of peer and channel messages: hands each message of each sender's stream
 * to the app exactly once and in the sender's order, whichever path its copies took. It never
 * skips a message silently: what it skips (the sender gave up on it, the store dropped it, the
 * app refused it, a gap outlived every retry) is reported back in the stream's ACK as missing,
 * so the sender's outcome stays honest.
 */
export class Inbox {
  private readonly senders = new Map<string, Map<string, StreamState>>()
  private readonly gaps = new Set<StreamState>()
  private readonly streamKeys = new Map<StreamState, [string, string]>()
  private waitingTotal = 0
  /**
   * The stream `state` returned last: already the most recent in both maps, so the next frame of
   * it (the usual case) skips the four map operations that keep them in recency order.
   */
  private lastFrom = ''
  private lastStream = ''
  private lastState: StreamState | null = null
  /** The gap clock: time connected to the node, summed (see GAP_TIMEOUT_MS). */
  private connectedMs = 0
  private connectedSince: number | null = null

  /**
   * `deliver` hands a message to the app and says whether it was taken (false: refused, e.g. a
   * channel this client is not in; 'held': taken, but it reaches the app later — release() says
   * when). `changed` says a stream's ACK should go out.
   */
  constructor(
    private readonly deliver: (from: string, frame: PeerMessageFrame, arrival: Arrival) => boolean | 'held',
    private readonly changed: (from: string, stream: string) => void,
    /** This copy is behind us (handed over, skipped, or a duplicate): the store may forget it. */
    private readonly passed: (arrival: Arrival) => void = () => undefined,
    /** The node's clock (the clock of an Arrival's serverTs); null while unknown. */
    private readonly nodeNow: () => number | null = () => null,
  ) {}

  onMessage(from: string, f: PeerMessageFrame, arrival: Arrival, now: number): void {
    const st = this.state(from, f.stream, now)
    if (arrival.path !== 'offline') st.viaRelay = arrival.path === 'relay'
    if (f.stream.startsWith(BROADCAST_STREAM_PREFIX)) {
      // Fanned out by the node, never acknowledged: in order, once, no waiting.
      if (f.seq >= st.expected) {
        st.expected = f.seq + 1
        this.deliver(from, f, arrival)
      }
      this.passed(arrival)
      return
    }
    if (st.expected === 0) st.expected = st.known = f.floor
    if (f.floor > st.senderFloor) st.senderFloor = f.floor
    if (f.floor > st.expected) this.skipTo(st, from, f.floor)
    if (f.seq === st.expected) {
      this.hand(st, from, f, arrival)
    } else if (f.seq < st.expected && st.redeliver?.delete(f.seq)) {
      // Held when the last page went: it never reached the app.
      if (st.redeliver.size === 0) st.redeliver = null
      const taken = this.deliver(from, f, arrival)
      if (taken === false) this.addMissing(st, f.seq, f.seq)
      else if (taken === 'held') (st.held ??= new Set()).add(f.seq)
      this.passed(arrival)
    } else if (f.seq < st.expected) {
      this.passed(arrival) // a duplicate
    } else if (!st.waiting.has(f.seq) && st.waiting.size < MAX_WAITING_PER_STREAM && this.waitingTotal < MAX_WAITING_TOTAL) {
      // Beyond the caps a frame is dropped unacknowledged: an honest sender (or the store) sends it again.
      st.waiting.set(f.seq, { frame: f, arrival })
      this.waitingTotal++
    } else if (st.waiting.get(f.seq)?.arrival.offlineId === undefined && arrival.offlineId !== undefined) {
      // The stored copy of one held from the relay: keep its id, so the store hears when it is passed.
      st.waiting.get(f.seq)!.arrival = arrival
    }
    this.drain(st, from, now)
    // Below expected: a duplicate; acknowledging again tells the sender to stop.
    if (st.expected > 1) this.changed(from, f.stream)
  }

  /** The node's store dropped these seqs of a stream (its per-receiver cap): stop waiting for them. */
  onDropped(from: string, stream: string, ranges: SeqRange[], now: number): void {
    const st = this.state(from, stream, now)
    for (const r of ranges) st.dropped.push([r[0], r[1]])
    st.dropped.sort((a, b) => a[0] - b[0])
    if (st.dropped.length > MAX_MISSING_RANGES) st.dropped.splice(0, st.dropped.length - MAX_MISSING_RANGES)
    if (st.expected === 0) return // the first frame will say where the stream starts
    this.drain(st, from, now)
    if (st.expected > 1) this.changed(from, stream)
  }

  /** We are (or are not) connected to the node, logged in: gaps age only meanwhile. */
  setConnected(connected: boolean, now: number): void {
    if (connected && this.connectedSince === null) {
      this.connectedSince = now
      const clock = this.gapClock(now)
      for (const st of this.gaps) if (st.gapSince !== null) st.gapSince = Math.max(st.gapSince, clock - GAP_TIMEOUT_MS + GAP_GRACE_AFTER_LOGIN_MS)
    } else if (!connected && this.connectedSince !== null) {
      this.connectedMs += now - this.connectedSince
      this.connectedSince = null
    }
  }

  private gapClock(now: number): number {
    return this.connectedMs + (this.connectedSince === null ? 0 : now - this.connectedSince)
  }

  /**
   * Skips gaps that nobody filled in time (see GAP_TIMEOUT_MS). A gap in front of a copy that the
   * node stored more than GAP_TIMEOUT_MS ago is skipped at once when we are logged in: the store
   * hands over all it holds at login, and the missing message was sent before that copy, so its
   * sender gave up on it long ago (a plain message answered PEER_UNREACHABLE before the stored
   * ones, say). Without this the stored messages would wait another GAP_TIMEOUT_MS.
   */
  tick(now: number): void {
    const clock = this.gapClock(now)
    const nodeNow = this.connectedSince === null ? null : this.nodeNow()
    for (const st of [...this.gaps]) {
      if (st.gapSince === null || st.waiting.size === 0) continue
      const first = Math.min(...st.waiting.keys())
      const held = st.waiting.get(first)!.arrival
      const stale = nodeNow !== null && held.path === 'offline' && nodeNow - held.serverTs >= GAP_TIMEOUT_MS
      if (!stale && clock - st.gapSince < GAP_TIMEOUT_MS) continue
      const [from, stream] = this.streamKeys.get(st)!
      this.skipTo(st, from, first)
      this.drain(st, from, now)
      this.changed(from, stream)
    }
  }

  /** Some stream waits on a gap (the tick must run to time it out). */
  get hasGaps(): boolean {
    return this.gaps.size > 0
  }

  /** What the ACK of a stream says now; null if nothing was handed out yet. */
  ackState(from: string, stream: string): AckState | null {
    const st = this.senders.get(from)?.get(stream)
    if (!st) return null
    const upTo = this.doneBelow(st) - 1
    if (upTo < 1) return null
    if (st.missing.length === 0) return { upTo, missing: [], known: st.known }
    // Ranges the sender may still care about: at or above its floor (and none past what is acknowledged).
    const relevant = st.missing.filter((r) => r[1] >= st.senderFloor && r[0] <= upTo).map((r): SeqRange => [r[0], Math.min(r[1], upTo)])
    const missing = relevant.slice(-MAX_ACK_RANGES)
    let known = st.known
    if (missing.length < relevant.length) known = Math.max(known, relevant[relevant.length - MAX_ACK_RANGES - 1][1] + 1)
    return { upTo, missing, known }
  }

  /**
   * The stream's last message came through the relay: its sender has no link to us, whatever
   * ours says (a sender killed and started again leaves a link here that looks open for seconds).
   */
  cameByRelay(from: string, stream: string): boolean {
    return this.senders.get(from)?.get(stream)?.viaRelay ?? false
  }

  /** The streams worth keeping across a reload, most recently heard first. */
  snapshot(limit: number): StreamRecord[] {
    const out: StreamRecord[] = []
    for (const [from, streams] of this.senders) {
      for (const [stream, st] of streams) {
        const expected = st.expected
        if (stream.startsWith(BROADCAST_STREAM_PREFIX) || expected <= 1) continue
        const missing = st.missing.slice(-MAX_ACK_RANGES)
        // Held ones had not reached the app: the next page takes them when they come again (and
        // only them: what came after them reached the app).
        const held = [...(st.held ?? []), ...(st.redeliver ?? [])].sort((a, b) => a - b).slice(-MAX_SAVED_HELD)
        out.push({ from, stream, expected, known: st.known, missing, lastActive: st.lastActive, held })
      }
    }
    out.sort((a, b) => b.lastActive - a.lastActive)
    return out.slice(0, limit)
  }

  /** A held message (see the constructor's `deliver`) reached the app: it is acknowledged now. */
  release(from: string, stream: string, seq: number): void {
    const st = this.senders.get(from)?.get(stream)
    if (!st?.held?.delete(seq)) return
    if (st.held.size === 0) st.held = null
    this.changed(from, stream)
  }

  /** Every seq below this reached the app, or was skipped (a held one has not: it is not acknowledged, nor saved as delivered). */
  private doneBelow(st: StreamState): number {
    let low = st.expected
    if (st.held) for (const s of st.held) if (s < low) low = s
    if (st.redeliver) for (const s of st.redeliver) if (s < low) low = s
    return low
  }

  /** Takes back saved stream states (before any frame arrives). */
  restore(records: StreamRecord[]): void {
    for (const r of [...records].sort((a, b) => a.lastActive - b.lastActive)) {
      const st = this.state(r.from, r.stream, r.lastActive)
      st.expected = Math.max(st.expected, r.expected)
      st.known = r.known
      st.missing = r.missing.map((m) => [m[0], m[1]] as SeqRange)
      st.redeliver = r.held.length > 0 ? new Set(r.held.filter((seq) => seq < st.expected)) : null
      st.senderFloor = 0
    }
  }

  clear(): void {
    this.senders.clear()
    this.gaps.clear()
    this.streamKeys.clear()
    this.waitingTotal = 0
    this.lastState = null
  }

  /** Hands `f` (seq == expected) to the app; a refusal is recorded as missing. */
  private hand(st: StreamState, from: string, f: PeerMessageFrame, arrival: Arrival): void {
    const held = st.waiting.get(f.seq)
    if (held && held.arrival !== arrival) {
      // Another copy of it was waiting: it is passed too.
      this.unwait(st, f.seq)
      this.passed(held.arrival)
    }
    st.expected = f.seq + 1
    const taken = this.deliver(from, f, arrival)
    if (taken === false) this.addMissing(st, f.seq, f.seq)
    else if (taken === 'held') (st.held ??= new Set()).add(f.seq)
    this.passed(arrival)
  }

  /** Moves `expected` up to `to`: frames in hand below it go to the app in order, the rest is missing. */
  private skipTo(st: StreamState, from: string, to: number): void {
    for (const seq of [...st.waiting.keys()].sort((a, b) => a - b)) {
      if (seq >= to) break
      if (seq < st.expected) {
        this.passed(st.waiting.get(seq)!.arrival)
        this.unwait(st, seq)
        continue
      }
      if (seq > st.expected) this.addMissing(st, st.expected, seq - 1)
      const w = st.waiting.get(seq)!
      this.hand(st, from, w.frame, w.arrival)
      this.unwait(st, seq)
    }
    if (to > st.expected) {
      this.addMissing(st, st.expected, to - 1)
      st.expected = to
    }
  }

  /** Delivers what became contiguous and steps over dropped seqs. */
  private drain(st: StreamState, from: string, now: number): void {
    for (;;) {
      const next = st.waiting.get(st.expected)
      if (next) {
        const seq = st.expected
        this.hand(st, from, next.frame, next.arrival)
        this.unwait(st, seq)
        continue
      }
      const drop = st.dropped.length ? st.dropped.find((r) => r[0] <= st.expected && st.expected <= r[1]) : undefined
      if (!drop) break
      // Deliver any copy in hand inside the dropped range; skip the rest.
      const inHand = [...st.waiting.keys()].filter((s) => s <= drop[1]).sort((a, b) => a - b)
      this.skipTo(st, from, (inHand[0] ?? drop[1] + 1))
    }
    if (st.dropped.length) st.dropped = st.dropped.filter((r) => r[1] >= st.expected)
    if (st.waiting.size > 0) {
      st.gapSince ??= this.gapClock(now)
      this.gaps.add(st)
    } else if (st.gapSince !== null) {
      // In `gaps` exactly while gapSince is set.
      st.gapSince = null
      this.gaps.delete(st)
    }
  }

  private addMissing(st: StreamState, first: number, last: number): void {
    const tail = st.missing[st.missing.length - 1]
    if (tail && tail[1] + 1 >= first) tail[1] = Math.max(tail[1], last)
    else st.missing.push([first, last])
    if (st.missing.length > MAX_MISSING_RANGES) {
      const forgotten = st.missing.shift()!
      st.known = forgotten[1] + 1
    }
  }

  private state(from: string, stream: string, now: number): StreamState {
    const last = this.lastState
    if (last !== null && from === this.lastFrom && stream === this.lastStream) {
      last.lastActive = now
      return last
    }
    let streams = this.senders.get(from)
    if (streams) {
      this.senders.delete(from) // re-insert: the map's order is recency
    } else {
      streams = new Map()
      if (this.senders.size >= MAX_SENDERS) {
        const oldest = this.senders.keys().next().value!
        for (const st of this.senders.get(oldest)!.values()) this.forget(st)
        this.senders.delete(oldest)
      }
    }
    this.senders.set(from, streams)
    let st = streams.get(stream)
    if (st) streams.delete(stream)
    else {
      st = { expected: 0, waiting: new Map(), missing: [], known: 0, dropped: [], senderFloor: 0, held: null, redeliver: null, gapSince: null, lastActive: now, viaRelay: false }
      if (streams.size >= MAX_STREAMS_PER_SENDER) {
        const oldest = streams.keys().next().value!
        this.forget(streams.get(oldest)!)
        streams.delete(oldest)
      }
      this.streamKeys.set(st, [from, stream])
    }
    streams.set(stream, st)
    st.lastActive = now
    this.lastFrom = from
    this.lastStream = stream
    this.lastState = st
    return st
  }

  private unwait(st: StreamState, seq: number): void {
    if (st.waiting.delete(seq)) this.waitingTotal--
  }

  private forget(st: StreamState): void {
    if (st === this.lastState) this.lastState = null
    this.waitingTotal -= st.waiting.size
    this.gaps.delete(st)
    this.streamKeys.delete(st)
  }
}
