/**
 * Which users a new link is not tried with for now, and until when.
 *
 * Two kinds of trouble, kept apart:
 * - a link that never opened (the user is offline, ICE found no path): no new attempt of ours for
 *   `retryAfterFailureMs`, doubling up to 2 min; an offer from that user clears it (it is there now);
 * - an open link that the far end closed without saying BYE (PROTOCOL.md, "Link frames"): a crash,
 *   a closed tab — or a peer closing links on purpose. Every such close is a moment when
 *   @roamhq/wrtc may crash this process if it is sending on that link (the native channel is
 *   dropped on WebRTC's thread while a send on ours is using it), so how often one user can do
 *   it is bounded: the first is free, from the second on no link with that user, either way
 *   (its offers are ignored), for `abruptBackoffMs` × 4ⁿ⁻² (30 s, 2 min, 8 min …) up to 1 h. The
 *   count is forgotten after 1 h without one. The relay carries that user's messages meanwhile.
 */
export const LINK_BACKOFF_LIMITS = {
  maxFailureDelayMs: 120_000,
  abruptBackoffMs: 30_000,
  maxAbruptDelayMs: 60 * 60_000,
  /** An abrupt close this long after the last one starts the count again. */
  abruptForgetMs: 60 * 60_000,
  /** After a user's BYE, no link of ours to it for this long (a page going away makes none either). */
  afterByeMs: 3_000,
  /** Users remembered of each kind (the oldest forgotten first). */
  maxRemembered: 1024,
} as const

interface Failure {
  until: number
  delayMs: number
}

interface Abrupt {
  count: number
  lastAt: number
  until: number
}

export class LinkBackoff {
  private readonly failures = new Map<string, Failure>()
  private readonly abrupt = new Map<string, Abrupt>()
  /** Until when no link of ours goes to a user that said BYE. */
  private readonly byes = new Map<string, number>()

  constructor(private readonly retryAfterFailureMs: number) {}

  /** A link of ours may start to `uid` now. */
  mayConnect(uid: string, now: number): boolean {
    return (this.failures.get(uid)?.until ?? 0) <= now && (this.byes.get(uid) ?? 0) <= now && this.mayAccept(uid, now)
  }

  /** An offer from `uid` may be taken now. */
  mayAccept(uid: string, now: number): boolean {
    return (this.abrupt.get(uid)?.until ?? 0) <= now
  }

  /** A link to `uid` failed before it opened. */
  failed(uid: string, now: number): void {
    const prev = this.failures.get(uid)
    const delayMs = prev ? Math.min(prev.delayMs * 2, LINK_BACKOFF_LIMITS.maxFailureDelayMs) : this.retryAfterFailureMs
    remember(this.failures, uid, { until: now + delayMs, delayMs })
  }

  /** A link to `uid` opened (or `uid` offered one): the failures before it no longer count. */
  reachable(uid: string): void {
    this.failures.delete(uid)
    this.byes.delete(uid)
  }

  /** `uid` said BYE: it is closing its links (it may be going away); its own offers are still taken. */
  saidBye(uid: string, now: number): void {
    remember(this.byes, uid, now + LINK_BACKOFF_LIMITS.afterByeMs)
  }

  /** `uid` closed an open link without BYE. Returns how long no link is tried with it (0: none). */
  closedAbruptly(uid: string, now: number): number {
    const prev = this.abrupt.get(uid)
    const count = prev && now - prev.lastAt < LINK_BACKOFF_LIMITS.abruptForgetMs ? prev.count + 1 : 1
    const delayMs = count < 2 ? 0 : Math.min(LINK_BACKOFF_LIMITS.abruptBackoffMs * 4 ** (count - 2), LINK_BACKOFF_LIMITS.maxAbruptDelayMs)
    remember(this.abrupt, uid, { count, lastAt: now, until: now + delayMs })
    return delayMs
  }

  /** At logout: the failures are forgotten (the next session may find users reachable); abrupt closes are not. */
  clearFailures(): void {
    this.failures.clear()
    this.byes.clear()
  }
}

function remember<V>(map: Map<string, V>, uid: string, value: V): void {
  map.delete(uid)
  if (map.size >= LINK_BACKOFF_LIMITS.maxRemembered) {
    const oldest = map.keys().next().value
    if (oldest !== undefined) map.delete(oldest)
  }
  map.set(uid, value)
}
