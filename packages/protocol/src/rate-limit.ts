import type { RateLimit } from './limits.js'

/**
 * Token bucket for "`count` per `windowMs`": a burst of `count`, refilled evenly over the
 * window. Pure: the caller passes the clock, so client and rendezvous count the same way.
 */
export class RateBucket {
  private tokens: number
  private last: number
  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.count
    this.last = now
  }
  /** Takes `n` tokens if there are enough; false (and nothing taken) otherwise. */
  take(now: number, n = 1): boolean {
    if (this.available(now) < n) return false
    this.tokens -= n
    return true
  }

  /** Tokens there are now (nothing taken). */
  available(now: number): number {
    const elapsed = now - this.last
    if (elapsed > 0) {
      this.tokens = Math.min(this.limit.count, this.tokens + (elapsed * this.limit.count) / this.limit.windowMs)
      this.last = now
    }
    return this.tokens
  }
}
