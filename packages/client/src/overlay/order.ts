/**
 * Per-origin order: each origin's messages reach the app once each and in the origin's order.
 * A member delivers an origin's messages sent since it joined: a message whose previous one was
 * sent before the join (`prevTs < joinedAt`), or the first of a stream, starts its sequence, as
 * does the one after a message sent before the join (a pull's answer, say); so does one whose
 * previous one is older than `forgetAfterMs` (a stream idle that long is forgotten
 * here, so this member cannot tell whether it had it; and no cache holds it any more to pull).
 * Out-of-order arrivals wait in a buffer; a gap is reported (the overlay pulls it from
 * neighbours' caches) and, if never filled, skipped so the stream keeps flowing.
 */

export interface Ordered {
  seq: number
  prevTs: number
  sentTs: number
}

export type Accepted<M> =
  /** Deliver these, in this order (possibly none yet: the message waits for a gap). */
  | { status: 'ok'; deliver: M[] }
  /** Already delivered, skipped or waiting. */
  | { status: 'duplicate' }

export interface Gap {
  from: number
  to: number
}

export class StreamOrder<M extends Ordered> {
  /** The next seq to deliver; 0 while the start is unknown. */
  next = 0
  private readonly waiting = new Map<number, M>()
  /** When each waiting message came: a gap is known since the earliest of them came. */
  private readonly arrived = new Map<number, number>()
  /** When the current gap was first seen (0: none). */
  gapSince = 0
  /** The highest seq accepted. */
  top = 0
  lastActive: number

  constructor(
    private readonly joinedAt: number,
    now: number,
    private readonly forgetAfterMs = Infinity,
  ) {
    this.lastActive = now
  }

  get waitingCount(): number {
    return this.waiting.size
  }

  accept(m: M, now: number): Accepted<M> {
    this.lastActive = now
    if ((this.next > 0 && m.seq < this.next) || this.waiting.has(m.seq)) return { status: 'duplicate' }
    if (m.sentTs < this.joinedAt) {
      // Neither it nor any before it (a stream's send times only grow) is this member's: the one
      // after it starts the stream here — also past a start known already (skipThrough: a copy
      // named a message of an earlier membership).
      const deliver = this.startAt(m.seq + 1)
      this.gapSince = this.earliestArrival()
      return { status: 'ok', deliver }
    }
    if (m.seq > this.top) this.top = m.seq
    const starts = m.seq === 1 || m.prevTs < this.joinedAt || now - m.prevTs >= this.forgetAfterMs
    // The same for a known start below the message before this one (sent before the join).
    if (starts && (this.next === 0 || (m.prevTs < this.joinedAt && m.seq > this.next))) this.startAt(m.seq)
    this.waiting.set(m.seq, m)
    this.arrived.set(m.seq, now)
    const deliver = this.next > 0 ? this.takeInOrder() : []
    if (deliver.length > 0 || this.gapSince === 0) this.gapSince = this.earliestArrival()
    return { status: 'ok', deliver }
  }

  /**
   * Delivery goes on from `seq`: what came before it was sent before the join (not this member's,
   * no gap). Returns what now follows in order.
   */
  private startAt(seq: number): M[] {
    this.next = seq
    for (const s of this.waiting.keys()) if (s < seq) this.unwait(s)
    return this.takeInOrder()
  }

  /** Whether `seq` was delivered or skipped (or is waiting). */
  has(seq: number): boolean {
    return (this.next > 0 && seq < this.next) || this.waiting.has(seq)
  }

  /**
   * Every missing range below the highest waiting message, lowest first, at most `max` (each at
   * most `span` long): all are asked for at once, so a second gap is not first noticed (and
   * waited for anew) only when the first one is filled or skipped.
   */
  holes(span: number, max: number): Gap[] {
    const first = this.gap(span)
    if (!first) return []
    const out = [{ from: first.from, to: Math.min(first.to, first.from + span - 1) }]
    const seqs = [...this.waiting.keys()].sort((a, b) => a - b)
    for (let i = 1; i < seqs.length && out.length < max; i++) {
      const below = seqs[i - 1]!
      if (seqs[i]! > below + 1) out.push({ from: below + 1, to: Math.min(seqs[i]! - 1, below + span) })
    }
    return out
  }

  /** The missing seqs below the lowest waiting message (null: none). `span` caps an unknown start. */
  gap(span: number): Gap | null {
    if (this.waiting.size === 0) return null
    let low = Infinity
    for (const s of this.waiting.keys()) if (s < low) low = s
    if (this.next > 0) return { from: this.next, to: low - 1 }
    return low > 1 ? { from: Math.max(1, low - span), to: low - 1 } : null
  }

  /** Gives up on the gap: delivers from the lowest waiting message on. */
  skip(now: number): { skipped: Gap | null; deliver: M[] } {
    if (this.waiting.size === 0) return { skipped: null, deliver: [] }
    let low = Infinity
    for (const s of this.waiting.keys()) if (s < low) low = s
    const skipped = this.next > 0 && low > this.next ? { from: this.next, to: low - 1 } : null
    this.next = low
    const deliver = this.takeInOrder()
    // A gap behind this one has been known since what waits above it came (and asked for since: holes()).
    this.gapSince = this.earliestArrival()
    return { skipped, deliver }
  }

  /**
   * Gives up on everything up to `seq` (a later message that came another way follows it): what
   * waits up to there is delivered in order, the holes between are skipped, and delivery goes on
   * from `seq + 1`. With the start unknown, holes count from the lowest message waiting.
   */
  skipThrough(seq: number, now: number): { skipped: Gap[]; deliver: M[] } {
    const upTo = [...this.waiting.keys()].filter((s) => s <= seq).sort((a, b) => a - b)
    let from = this.next > 0 ? this.next : (upTo[0] ?? seq)
    if (from > seq) return { skipped: [], deliver: [] }
    const skipped: Gap[] = []
    const deliver: M[] = []
    for (const s of upTo) {
      if (s > from) skipped.push({ from, to: s - 1 })
      deliver.push(this.waiting.get(s)!)
      this.unwait(s)
      from = s + 1
    }
    if (from <= seq) skipped.push({ from, to: seq })
    this.next = seq + 1
    if (seq > this.top) this.top = seq
    this.lastActive = now
    deliver.push(...this.takeInOrder())
    this.gapSince = this.earliestArrival()
    return { skipped, deliver }
  }

  /** Takes the waiting messages from `next` on, as long as they follow each other. */
  private takeInOrder(): M[] {
    const deliver: M[] = []
    for (;;) {
      const w = this.waiting.get(this.next)
      if (!w) break
      this.unwait(this.next)
      deliver.push(w)
      this.next++
    }
    return deliver
  }

  private unwait(seq: number): void {
    this.waiting.delete(seq)
    this.arrived.delete(seq)
  }

  /** When the earliest waiting message came (0: none waits). */
  private earliestArrival(): number {
    let at = 0
    for (const t of this.arrived.values()) if (at === 0 || t < at) at = t
    return at
  }
}
