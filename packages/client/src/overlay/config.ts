/** The overlay's limits and timings, in one block (PROTOCOL.md, "Channel overlay", explains each). */
export const OVERLAY_LIMITS = {
  /** Members above which a channel leaves the full mesh for the overlay. */
  threshold: 24,
  /** Links each member aims for. */
  D: 6,
  /** Below this many links a member asks urgently (a full member then makes room). */
  D_low: 4,
  /** A request that is not urgent is accepted below this many links (so that links settle near D, not D_high). */
  D_accept: 8,
  /** Never more links than this (an urgent request is accepted up to it, then a random link makes room). */
  D_high: 10,
  /** IHAVE announcements wait this long to be batched. */
  ihaveIntervalMs: 100,
  /** After an IHAVE for a message not received, wait this long for the tree before GRAFT. */
  graftTimeoutMs: 400,
  /** Then ask the next member that announced it after this long. */
  graftRetryMs: 250,
  /** A stream's tree moves to an announced path at least this many hops shorter than the one its message came by. */
  shortenBy: 1,
  /** A duplicate copy that came by a path at least this many hops shorter makes its link the stream's parent (free: no copy is asked for). */
  adoptShorterBy: 1,
  /**
   * A stream's first message here (it floods: no tree yet) that came by this many hops or more is
   * held before it goes on, floodHoldMs per hop past it (0: never held). Deep copies slow down, so a
   * shorter path overtakes them: the first message's last delivery takes fewer hops (its latency grows).
   */
  floodHoldFrom: 6,
  floodHoldMs: 80,
  /**
   * A later message (its stream has a tree) that came over a link other than the stream's parent
   * by this many hops more than the stream's last message is held too (floodHoldMs per hop from
   * this one on), waiting for the parent's copy (0: never held). A fast detour — through a member
   * that just joined, whose links all push at first — would else take the whole subtree below
   * this member that much deeper for that message; the parent's copy, once here, goes on at once.
   */
  detourHoldBy: 2,
  /**
   * A link that comes up is told (IHAVE) of each stream's latest message seen here within this
   * long: a member that missed a stream's last messages (its links still forming, say) has no
   * later one to show it the gap, and asks for them instead of never getting them.
   */
  latestOnLinkMs: 30_000,
  /** A gap in an origin's sequence waits this long before a PULL from a neighbour. */
  gapTimeoutMs: 1000,
  /** Missing ranges of one stream asked for at once (the lowest first). */
  pullHoles: 4,
  /** A PULL unanswered this long goes to another neighbour. */
  gapRetryMs: 1000,
  /**
   * After this many PULLs to neighbours a gap is also asked of its origin, once (it keeps its
   * messages cacheTtlMs; the neighbours that had them may have left) — if the host lets this
   * member ask (OverlayDeps.pullsOrigin bounds how many do).
   */
  originPullAfterTries: 3,
  /** A gap still open after this long is skipped (reported), so later messages flow. */
  gapGiveUpMs: 30_000,
  /** Message ids remembered as seen. */
  seenTtlMs: 120_000,
  /** Messages kept to answer GRAFT and PULL: how many and how long. */
  cacheSize: 4096,
  cacheTtlMs: 120_000,
  /** An origin's stream idle this long is forgotten (after every message of it left the seen set). */
  streamTtlMs: 600_000,
  /** A NEIGHBOR request unanswered this long is given up. */
  neighborTimeoutMs: 3000,
  /** How often links are checked and topped up. */
  maintainMs: 1000,
  /** Candidates remembered (from the node's introductions and neighbours' suggestions). */
  passiveSize: 64,
  /** Members suggested in a refusal or a disconnect. */
  suggestions: 4,
  /** Verified member certificates remembered. */
  certCacheSize: 4096,
} as const

export type OverlayLimits = { -readonly [K in keyof typeof OVERLAY_LIMITS]: number }

export type OverlayConfig = OverlayLimits & {
  /** Every member forwards every message to all its links (a baseline for comparison; no tree). */
  flood: boolean
}

export function overlayConfig(over: Partial<OverlayConfig> = {}): OverlayConfig {
  const c: OverlayConfig = { ...OVERLAY_LIMITS, flood: false, ...over }
  if (!(c.D_low >= 1 && c.D_low <= c.D && c.D <= c.D_accept && c.D_accept <= c.D_high)) throw new RangeError('overlay: need 1 ≤ D_low ≤ D ≤ D_accept ≤ D_high')
  return c
}
