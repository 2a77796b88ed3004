import { MAX_PULL_SPAN, type OverlayGossipFrame } from '@plaza/protocol'
import type { OverlayConfig } from './config.js'
import type { StreamOrder } from './order.js'

/** What gap filling needs of the overlay around it. */
export interface GapHost {
  /** The members linked to now. */
  readonly active: ReadonlySet<string>
  order(sk: string): StreamOrder<OverlayGossipFrame> | undefined
  /** The link the stream's latest message came over. */
  parent(sk: string): string | undefined
  random(): number
  pull(peer: string, origin: string, stream: string, from: number, to: number): void
  /** Asks the origin itself (see OverlayConfig.originPullAfterTries); the host may decline. */
  pullOrigin(origin: string, stream: string, from: number, to: number): void
  /** A gap open gapGiveUpMs was skipped: `range` (if any) is reported, `deliver` (what waited behind it) goes to the app. */
  skipped(origin: string, stream: string, range: { from: number; to: number } | null, deliver: OverlayGossipFrame[]): void
  /** Call tick() again at `at`. */
  wake(at: number): void
}

interface GapState {
  /** The order's gapSince this state is for (a new gap starts afresh). */
  since: number
  tries: number
  due: number
  asked: Set<string>
  /** When each hole (by its first seq) was first pulled: kept from one gap to the next of the stream. */
  pulledAt: Map<number, number>
}

/**
 * Gaps in origins' sequences: after gapTimeoutMs each is pulled (PULL) from the stream's parent,
 * then from other neighbours in turn, every gapRetryMs (every hole of the stream at once, up to
 * pullHoles), and once from the origin itself (originPullAfterTries); open gapGiveUpMs, it is
 * skipped — a hole behind it counts from when it was seen, and is skipped only once it was pulled.
 */
export class GapPuller {
  private readonly gaps = new Map<string, GapState>()

  constructor(
    private readonly cfg: OverlayConfig,
    private readonly host: GapHost,
  ) {}

  /** The stream's order changed: a gap it has now is waited for (a new one afresh), a closed one forgotten. */
  note(sk: string, order: StreamOrder<OverlayGossipFrame>, now: number): void {
    if (order.gapSince === 0) {
      this.gaps.delete(sk)
      return
    }
    const g = this.gaps.get(sk)
    if (!g || g.since !== order.gapSince) this.start(sk, order, g?.pulledAt)
    this.host.wake(Math.max(now, order.gapSince + this.cfg.gapTimeoutMs))
  }

  /** A new gap of the stream, waited for afresh; what was pulled of its holes before is remembered. */
  private start(sk: string, order: StreamOrder<OverlayGossipFrame>, pulledAt = new Map<number, number>()): void {
    for (const from of pulledAt.keys()) if (from < order.next) pulledAt.delete(from)
    this.gaps.set(sk, { since: order.gapSince, tries: 0, due: order.gapSince + this.cfg.gapTimeoutMs, asked: new Set(), pulledAt })
  }

  /** Pulls open gaps from neighbours' caches, or skips those open too long. Returns the next due time (0: none). */
  tick(now: number): number {
    let next = 0
    for (const [sk, g] of this.gaps) {
      const order = this.host.order(sk)
      if (!order || order.gapSince === 0) {
        this.gaps.delete(sk)
        continue
      }
      const [origin, stream] = sk.split('\n') as [string, string]
      const giveUpAt = this.giveUpAt(order, g)
      if (now >= giveUpAt) {
        const r = order.skip(now)
        this.gaps.delete(sk)
        this.host.skipped(origin, stream, r.skipped, r.deliver)
        // The next hole, if any, is visited again in this loop (a Map iterates what is added meanwhile).
        if (order.gapSince > 0) this.start(sk, order, g.pulledAt)
        continue
      }
      if (g.due <= now) {
        const peer = this.pullPeer(sk, g)
        const askOrigin = g.tries === this.cfg.originPullAfterTries
        for (const h of order.holes(MAX_PULL_SPAN, this.cfg.pullHoles)) {
          // No link to ask counts as asked: the hole is skipped in time all the same.
          if (peer !== null) this.host.pull(peer, origin, stream, h.from, h.to)
          if (askOrigin) this.host.pullOrigin(origin, stream, h.from, h.to)
          if (!g.pulledAt.has(h.from)) g.pulledAt.set(h.from, now)
        }
        g.tries++
        g.due = now + this.cfg.gapRetryMs
      }
      const due = Math.min(g.due, this.giveUpAt(order, g))
      next = next === 0 ? due : Math.min(next, due)
    }
    return next
  }

  /**
   * When the stream's lowest hole is skipped: gapGiveUpMs after it was seen, but never before it
   * was pulled and a retry's wait passed (a hole first seen behind others may not have been among
   * the pullHoles asked for; Infinity: not pulled yet).
   */
  private giveUpAt(order: StreamOrder<OverlayGossipFrame>, g: GapState): number {
    const front = order.gap(MAX_PULL_SPAN)
    const pulled = front ? g.pulledAt.get(front.from) : undefined
    if (pulled === undefined) return Infinity
    return Math.max(order.gapSince + this.cfg.gapGiveUpMs, pulled + this.cfg.gapRetryMs)
  }

  /** The link the stream's latest message came over, then links not yet asked, at random. */
  private pullPeer(sk: string, g: GapState): string | null {
    const last = this.host.parent(sk)
    const active = this.host.active
    if (g.tries === 0 && last !== undefined && active.has(last)) {
      g.asked.add(last)
      return last
    }
    let pool = [...active].filter((p) => !g.asked.has(p))
    if (pool.length === 0) {
      g.asked.clear()
      pool = [...active]
    }
    if (pool.length === 0) return last ?? null
    const p = pool[Math.floor(this.host.random() * pool.length)]!
    g.asked.add(p)
    return p
  }
}
