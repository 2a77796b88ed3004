import type { Clock, OverlayAfter, TimerHandle } from '@plaza/protocol'

/** A message held, and what to call once the app has it (the message is acknowledged then). */
interface Held<M> {
  m: M
  after: OverlayAfter | null
  reached?: () => void
}

/**
 * A member's channel messages that came as copies are held behind the overlay message they
 * follow (PeerMessageFrame.after) until this member's overlay has delivered it — or skipped it:
 * the sender went from the overlay to copies, and a copy's path is shorter. Messages of that
 * member that come meanwhile wait behind them, so its order holds. After `waitMs` the overlay is
 * told to skip what is still missing up to there (`skip`): a late overlay copy of it is dropped
 * rather than delivered after what follows it. A held copy is acknowledged to its sender only once
 * the app has it (`reached`): a page that dies meanwhile has not received it.
 */
export class AfterGate<M> {
  private readonly held = new Map<string, { queue: Array<Held<M>>; timer: TimerHandle | null; until: number }>()

  constructor(
    private readonly clock: Clock,
    private readonly waitMs: number,
    /** Whether this member's overlay delivered or skipped it; null when it does not get that stream (nothing to wait for). */
    private readonly passed: (origin: string, after: OverlayAfter) => boolean | null,
    private readonly deliver: (m: M, from: string) => void,
    /** The wait for `origin`'s overlay message `after` is over: the overlay gives it (and any missing before it) up. */
    private readonly skip: (origin: string, after: OverlayAfter) => void = () => undefined,
    /** A copy starts waiting for `origin`'s overlay message `after`: the overlay asks for it (no later overlay message may come to show the gap). */
    private readonly want: (origin: string, after: OverlayAfter) => void = () => undefined,
  ) {}

  /** A message of `from`'s: delivered now (false), or held (true; `reached` is called when it is delivered). */
  admit(from: string, m: M, after: OverlayAfter | null | undefined, reached?: () => void): boolean {
    const h = this.held.get(from)
    const item = { m, after: after ?? null, reached }
    if (h) h.queue.push(item)
    else if (after && this.passed(from, after) === false) this.hold(from, [item])
    else {
      this.handOver(from, { m, after: after ?? null })
      return false
    }
    return true
  }

  /** To the app; an overlay message it names that was not passed (not a stream this member got) is skipped from now. */
  private handOver(from: string, { m, after, reached }: Held<M>): void {
    if (after && this.passed(from, after) !== true) this.skip(from, after)
    this.deliver(m, from)
    reached?.()
  }

  /**
   * `origin`'s overlay delivered its message `seq` of `stream` (emit hands it to the app). Copies
   * held for an earlier one of that stream were sent before it: they go first. Then what waited
   * for this one goes. The overlay may deliver several at once and counts them all passed before
   * the first is handed over, so on this stream only what names `seq` or earlier goes.
   */
  overlayDelivered(origin: string, stream: string, seq: number, emit: () => void): void {
    const front = this.held.get(origin)?.queue[0]?.after
    if (front && front.stream === stream && seq > front.seq) this.release(origin, true, { stream, seq: seq - 1 })
    emit()
    if (this.held.has(origin)) this.release(origin, false, { stream, seq })
  }

  /**
   * Left the channel: what is held goes to `deliver` now, without waiting any more (each was
   * acknowledged to its sender when it came: it must reach the app, even a little out of order).
   */
  flush(deliver: (m: M, from: string) => void): void {
    const held = [...this.held]
    this.held.clear()
    for (const [from, h] of held) {
      this.clock.clearTimeout(h.timer)
      for (const { m, reached } of h.queue) {
        deliver(m, from)
        reached?.()
      }
    }
  }

  get heldCount(): number {
    let n = 0
    for (const h of this.held.values()) n += h.queue.length
    return n
  }

  /** Holds `queue` until its front's wait ends (`sameFrontUntil` for a front held on: whatever comes meanwhile). */
  private hold(from: string, queue: Array<Held<M>>, sameFrontUntil?: number): void {
    const front = queue[0]?.after
    // A new front: the overlay is asked for what it waits for (once: a front held on keeps its deadline).
    if (front && sameFrontUntil === undefined) this.want(from, front)
    const until = sameFrontUntil ?? this.clock.now() + this.waitMs
    const timer = this.clock.setTimeout(() => this.expire(from), Math.max(0, until - this.clock.now()), true)
    this.held.set(from, { queue, timer, until })
  }

  /**
   * The front's wait is over: the overlay skips through the message it names. What the overlay
   * delivers meanwhile (messages up to it that waited behind a gap) comes first and releases the
   * copies in order (overlayDelivered); whatever is still held after that goes now.
   */
  private expire(from: string): void {
    const h = this.held.get(from)
    const front = h?.queue[0]?.after
    if (!h || !front) return this.release(from, true)
    h.timer = null
    if (this.passed(from, front) === false) this.skip(from, front)
    if (this.held.get(from) === h) this.release(from, true)
  }

  /**
   * Delivers from the front while nothing is waited for; `force`: the front's wait is over;
   * `through`: the overlay has handed over that stream up to there (and no further, whatever it counts passed).
   */
  private release(from: string, force: boolean, through?: OverlayAfter): void {
    const h = this.held.get(from)
    if (!h) return
    this.clock.clearTimeout(h.timer)
    this.held.delete(from)
    const queue = h.queue
    for (let i = 0; i < queue.length; i++) {
      const item = queue[i]!
      const after = item.after
      const waits = after && (through && after.stream === through.stream ? after.seq > through.seq : this.passed(from, after) === false)
      if (waits && !(force && i === 0)) {
        // The same front waits on to its first deadline (an earlier overlay message coming does not restart it); a new front gets its own.
        this.hold(from, queue.slice(i), i === 0 ? h.until : undefined)
        return
      }
      this.handOver(from, item)
    }
  }
}
