import type { PeerMessageFrame } from '@plaza/protocol'

export interface Arrival {
  /** Which way this copy came. */
  path: 'direct' | 'relay' | 'offline'
  /** The node's clock when it took the frame (relay, offline), else the sender's send time. */
  serverTs: number
}

interface InboundStream {
  expected: number
  /** Out-of-order arrivals waiting for a gap to fill, by seq. */
  waiting: Map<number, { frame: PeerMessageFrame; arrival: Arrival }>
}

const MAX_STREAMS = 10_000
/** Senders keep at most their window (256) in flight, so more than this is a broken or hostile peer. */
const MAX_WAITING_PER_STREAM = 256
/** Out-of-order messages held across all streams: bounds what peers can make us keep (≤ 32 KB each). */
const MAX_WAITING_TOTAL = 4096

/**
 * The receiving half of peer messages: hands each message of each sender's stream to the app
 * exactly once and in the sender's order, whichever path its copies took.
 */
export class Inbox {
  private readonly streams = new Map<string, InboundStream>()
  private waitingTotal = 0

  constructor(
    private readonly deliver: (from: string, frame: PeerMessageFrame, arrival: Arrival) => void,
    private readonly ack: (from: string, stream: string, upTo: number) => void,
  ) {}

  onMessage(from: string, f: PeerMessageFrame, arrival: Arrival): void {
    const key = `${from}\u0000${f.stream}`
    let st = this.streams.get(key)
    if (!st) {
      // First contact: everything below the sender's floor is settled already.
      st = { expected: f.floor, waiting: new Map() }
      if (this.streams.size >= MAX_STREAMS) {
        const oldest = this.streams.keys().next()
        if (!oldest.done) this.forget(oldest.value)
      }
    } else {
      this.streams.delete(key) // re-insert: the map's order is recency
    }
    this.streams.set(key, st)

    if (f.floor > st.expected) {
      // The sender gave up on [expected, floor): stop waiting for them.
      st.expected = f.floor
      for (const seq of st.waiting.keys()) if (seq < st.expected) this.unwait(st, seq)
    }
    if (f.seq === st.expected) {
      this.deliver(from, f, arrival)
      st.expected++
    } else if (
      f.seq > st.expected &&
      !st.waiting.has(f.seq) &&
      st.waiting.size < MAX_WAITING_PER_STREAM &&
      this.waitingTotal < MAX_WAITING_TOTAL
    ) {
      // Beyond the caps a frame is dropped unacknowledged: an honest sender sends it again.
      st.waiting.set(f.seq, { frame: f, arrival })
      this.waitingTotal++
    }
    for (let next = st.waiting.get(st.expected); next; next = st.waiting.get(st.expected)) {
      this.unwait(st, st.expected)
      this.deliver(from, next.frame, next.arrival)
      st.expected++
    }
    // Below expected: a duplicate; acknowledging again tells the sender to stop.
    if (st.expected > 1) this.ack(from, f.stream, st.expected - 1)
  }

  clear(): void {
    this.streams.clear()
    this.waitingTotal = 0
  }

  private unwait(st: InboundStream, seq: number): void {
    if (st.waiting.delete(seq)) this.waitingTotal--
  }

  private forget(key: string): void {
    const st = this.streams.get(key)
    if (st) this.waitingTotal -= st.waiting.size
    this.streams.delete(key)
  }
}
