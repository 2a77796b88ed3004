import type { Clock, TimerHandle } from '@plaza/protocol'
import type { OverlayConfig } from './config.js'

/** How long a copy that came by `hops` waits before it goes on (ms from its arrival; 0: not at all). */
export type HoldFor = (hops: number) => number

/** What the rule needs to know of the message's stream at this member. */
export interface StreamAtMember {
  /** No message of the stream came here before (it has no tree yet: it floods). */
  first: boolean
  /** The hops the stream's last message came by. */
  lastHops: number
  /** The copy came over a link other than the stream's parent, and that parent is still linked. */
  offParent: boolean
  /**
   * A neighbour announced the message before this copy came: the hops a copy from it would come
   * by (undefined: none did, or nobody below would get this copy: holding it gains nothing).
   */
  announced?: number
}

/**
 * Which messages wait before they go on (PROTOCOL.md, "Dissemination"); null: none. A stream's
 * first message that came by floodHoldFrom hops or more waits floodHoldMs per hop past it, so that
 * a shorter path overtakes it. A later one that came off the stream's parent by detourHoldBy hops
 * more than the last one waits likewise, for the parent's copy; and so does any copy that came by
 * detourHoldBy hops more than a path a neighbour announced before it (the tree's push was late: a
 * parent gone, the subtree above repaired), for that neighbour's copy.
 */
export function holdRule(cfg: OverlayConfig, s: StreamAtMember): HoldFor | null {
  const ms = cfg.floodHoldMs
  if (cfg.flood || ms <= 0) return null
  // Never longer than a neighbour below takes to ask for it by itself (announcement, then GRAFT);
  // `hops` comes from the sender of the copy, which may say anything.
  const most = cfg.ihaveIntervalMs + cfg.graftTimeoutMs
  const wait = (extraHops: number) => Math.min(most, Math.max(0, extraHops) * ms)
  const by = cfg.detourHoldBy
  const announced = s.announced
  const rule = ((): HoldFor | null => {
    if (s.first) {
      const from = cfg.floodHoldFrom
      return from > 0 ? (hops) => wait(hops - from + 1) : null
    }
    return by > 0 && s.offParent ? (hops) => wait(hops - s.lastHops - by + 1) : null
  })()
  if (by <= 0 || announced === undefined) return rule
  const byAnnounced: HoldFor = (hops) => wait(hops - announced - by + 1)
  return rule ? (hops) => Math.max(rule(hops), byAnnounced(hops)) : byAnnounced
}

interface Held {
  from: string
  arrived: number
  holdFor: HoldFor
  timer: TimerHandle | null
  /** A shorter copy was asked for (once per hold). */
  asked: boolean
}

/**
 * Messages held (delivered here, not yet forwarded), by message key. A copy by a shorter path
 * that comes meanwhile shortens the hold to what its hops call for — at once, often.
 */
export class ForwardHolds {
  private readonly held = new Map<string, Held>()

  constructor(
    private readonly clock: Clock,
    /** The hops of the copy kept here now (undefined: forgotten). */
    private readonly hopsOf: (key: string) => number | undefined,
    /** Forwards the message: to every link but the one it first came over and the one of the copy that ended the hold. */
    private readonly release: (key: string, firstFrom: string, lastFrom: string) => void,
  ) {}

  /** Holds the message if its rule says so for `hops`; false: it goes on now. */
  hold(key: string, from: string, hops: number, holdFor: HoldFor | null): boolean {
    if (!holdFor || holdFor(hops) <= 0) return false
    this.held.set(key, { from, arrived: this.clock.now(), holdFor, timer: null, asked: false })
    this.update(key, from)
    return true
  }

  has(key: string): boolean {
    return this.held.has(key)
  }

  /** Messages held now (0 almost always: announcements need not be looked at). */
  get size(): number {
    return this.held.size
  }

  /**
   * Whether to ask for a copy of the held message that `hops` (of a neighbour that announced it)
   * would shorten the hold: true at most once per hold.
   */
  askFor(key: string, hops: number): boolean {
    const h = this.held.get(key)
    if (!h || h.asked) return false
    const mine = this.hopsOf(key)
    if (mine === undefined || h.holdFor(hops + 1) >= h.holdFor(mine)) return false
    h.asked = true
    return true
  }

  /**
   * The held copy (by the hops it has now) waits at least `ms` from its arrival: a shorter one was
   * asked for (its parent's), and is worth that wait. A shorter copy still ends the hold as its hops allow.
   */
  waitLonger(key: string, ms: number): void {
    const h = this.held.get(key)
    const deep = this.hopsOf(key)
    if (!h || deep === undefined) return
    const rule = h.holdFor
    h.holdFor = (hops) => (hops >= deep ? Math.max(rule(hops), ms) : rule(hops))
    this.update(key, h.from)
  }

  /** A copy of a held message came from `from` by fewer hops: its hold is set anew. */
  update(key: string, from: string): void {
    const h = this.held.get(key)
    if (!h) return
    this.clock.clearTimeout(h.timer)
    const hops = this.hopsOf(key)
    const wait = hops === undefined ? 0 : h.arrived + h.holdFor(hops) - this.clock.now()
    const go = () => {
      this.held.delete(key)
      this.release(key, h.from, from)
    }
    if (wait <= 0) go()
    else h.timer = this.clock.setTimeout(go, wait, true)
  }
}
