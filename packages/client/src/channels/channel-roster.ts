import { MAX_MEMBERS_LISTED, type Clock } from '@plaza/protocol'
import { RelistWaits } from './relist-waits.js'

/** A member event as the node sent it. */
export interface MemberEvent {
  uid: string
  joined: boolean
  count: number
}

/**
 * Members missing from the list a join again answers (a restarted node rebuilds its list as
 * members come back): they count as gone only if they are not back within this.
 */
const RELIST_GRACE_MS = 15_000
/** Above 512 members a member stops tracking the others one by one; back below this it does again. */
const EXACT_AGAIN_AT = 448
/**
 * A member that left is still taken as an origin of channel messages this long: what it sent
 * before it left may be on its way (an overlay forwards and repairs a message for as long as a gap
 * is waited for, 30 s). A mute still applies at once.
 */
const LEFT_GRACE_MS = 30_000
const MAX_LEFT_REMEMBERED = 1024

/** A member list with the member events that came after it applied, in order. */
export function withEvents(list: readonly string[], log: readonly MemberEvent[]): Set<string> {
  const out = new Set(list)
  for (const e of log) {
    if (e.joined) out.add(e.uid)
    else out.delete(e.uid)
  }
  return out
}

export interface RosterHooks {
  /** `uid` is a member now (`announce`: tell the app). */
  joined(uid: string, announce: boolean): void
  /** `uid` is not a member any more. */
  gone(uid: string, announce: boolean): void
  /** A member a join again's list lacked was not listed again in time (it is gone already). */
  relistExpired(uid: string): void
  /** The count changed with a member event. */
  counted(): void
  /** Back under EXACT_AGAIN_AT members: the list kept while above 512 is not complete, ask for it. */
  wantList(): void
}

/**
 * A channel's members as this member knows them: the node's lists and member events, merged in
 * the order they happened. Up to 512 members every one is listed (`exact`); above, only the count.
 */
export class ChannelRoster {
  /** The other members (all of them while `exact`). */
  readonly ids = new Set<string>()
  /** Members in the channel, this one included, as the node last said. */
  count = 0
  /** `ids` holds every member (channels up to 512); else messages go through the node's fan-out. */
  exact = true
  private readonly unlisted: RelistWaits
  /** Members that left lately, with when (see LEFT_GRACE_MS). */
  private readonly left = new Map<string, number>()
  /** Member events logged for member-list requests under way (see track). */
  private readonly logs = new Set<MemberEvent[]>()
  /** When the node's event said a member in `ids` joined (this clock); not for members first known from a list. */
  private readonly joinEvents = new Map<string, number>()

  constructor(
    /** This member's uid. */
    private readonly self: () => string,
    private readonly clock: Clock,
    private readonly hooks: RosterHooks,
  ) {
    this.unlisted = new RelistWaits(clock, RELIST_GRACE_MS, (uid) => {
      if (!this.ids.has(uid)) return
      this.remove(uid, this.count < MAX_MEMBERS_LISTED)
      hooks.relistExpired(uid)
    })
  }

  /**
   * Logs the member events that come while a member list is asked for: some may come after the
   * list, in the same read from the socket, before the answer is handled; the list alone would
   * undo them. Call `untrack` when the answer is in.
   */
  track(): MemberEvent[] {
    const log: MemberEvent[] = []
    this.logs.add(log)
    return log
  }

  untrack(log: MemberEvent[]): void {
    this.logs.delete(log)
  }

  /** The node's member event about another member. */
  event(uid: string, joined: boolean, count: number): void {
    for (const log of this.logs) log.push({ uid, joined, count })
    this.setCount(count)
    this.hooks.counted()
    if (joined) {
      this.unlisted.done(uid)
      if (this.ids.has(uid)) return
      this.ids.add(uid)
      this.joinEvents.set(uid, this.clock.now())
      this.hooks.joined(uid, this.count <= MAX_MEMBERS_LISTED)
    } else this.remove(uid, this.count < MAX_MEMBERS_LISTED)
  }

  /**
   * The node's member list, with the member events that came while it was asked for (newer, or
   * already in it). `relistGrace`: it answers a join on a fresh session (see RelistWaits).
   */
  take(list: string[], count: number, announce: boolean, log: MemberEvent[], relistGrace = false): void {
    const next = withEvents(list, log)
    next.delete(this.self())
    if (log.length) count = log[log.length - 1]!.count
    const wasExact = this.exact
    this.count = count
    this.exact = count <= MAX_MEMBERS_LISTED
    const events = announce && wasExact && this.exact
    for (const m of [...this.ids]) {
      if (next.has(m)) continue
      // Joined again on a fresh session: the node may be rebuilding its list (it restarted) — a member it lacks may be on its way back.
      if (events && relistGrace) this.unlisted.wait(m)
      else this.remove(m, events)
    }
    for (const m of next) {
      this.unlisted.done(m)
      if (this.ids.has(m)) continue
      this.ids.add(m)
      this.hooks.joined(m, events)
    }
  }

  /**
   * When the node's event said `uid` joined (this clock), for a member that joined while this one
   * was in; undefined for one first known from a member list (it may have been in for long).
   */
  joinHeardAt(uid: string): number | undefined {
    return this.joinEvents.get(uid)
  }

  /**
   * `uid` is not a member any more. Copies to it are not given up here: when it drops out of a
   * new member list (after a node restart, before it joined again) it may be back within their
   * timeout; the outbox ends them FAILURE at the timeout if it is not.
   */
  remove(uid: string, announce: boolean): void {
    this.unlisted.done(uid)
    if (!this.ids.delete(uid)) return
    this.joinEvents.delete(uid)
    this.left.delete(uid)
    if (this.left.size >= MAX_LEFT_REMEMBERED) this.left.delete(this.left.keys().next().value!)
    this.left.set(uid, this.clock.now())
    this.hooks.gone(uid, announce)
  }

  /** A member now, or one that left less than LEFT_GRACE_MS ago (its last messages may be on their way). */
  isOrigin(uid: string): boolean {
    if (this.ids.has(uid)) return true
    const at = this.left.get(uid)
    return at !== undefined && this.clock.now() - at < LEFT_GRACE_MS
  }

  /** The node's count of members. */
  setCount(count: number): void {
    if (count > MAX_MEMBERS_LISTED) this.exact = false
    else if (!this.exact && count <= EXACT_AGAIN_AT) this.hooks.wantList()
    this.count = count
  }

  /** Out of the channel: every member forgotten (no events). */
  clear(): void {
    this.ids.clear()
    this.joinEvents.clear()
    this.left.clear()
    this.unlisted.clear()
    this.count = 0
  }
}
