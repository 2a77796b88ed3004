/**
 * Which members this member links to. The active view holds the links (at most D_high; the
 * member tops it up to D and asks urgently below D_low); the passive view holds candidates (the
 * node's introductions, neighbours' suggestions). Every choice is random, so that links do not
 * close into groups that only know each other.
 */
import type { OverlayConfig } from './config.js'

export type NeighborAnswer =
  | { accepted: true; evicted: string | null }
  | { accepted: false }

export class Views {
  readonly active = new Set<string>()
  private readonly passive: string[] = []
  /** Members asked to become neighbours, with when the request expires. */
  private readonly pending = new Map<string, number>()

  constructor(
    private readonly self: string,
    private readonly cfg: OverlayConfig,
    private readonly random: () => number,
  ) {}

  get passiveCount(): number {
    return this.passive.length
  }

  /** Adds candidates (unknown ones; the oldest go when the view is full). */
  addCandidates(uids: readonly string[]): void {
    for (const u of uids) {
      if (u === this.self || this.active.has(u) || this.passive.includes(u)) continue
      if (this.passive.length >= this.cfg.passiveSize) this.passive.splice(Math.floor(this.random() * this.passive.length), 1)
      this.passive.push(u)
    }
  }

  removeCandidate(uid: string): void {
    const i = this.passive.indexOf(uid)
    if (i >= 0) this.passive.splice(i, 1)
  }

  /** How many more links to ask for now. */
  wanted(): number {
    return Math.max(0, this.cfg.D - this.active.size - this.pending.size)
  }

  /** Refusals since this member last had D_low links. */
  private refusals = 0

  /**
   * Whether a request now is urgent: too few links to be safely connected, and asking politely
   * was refused. (Not before: members that start together would all be urgent and fill each other
   * up to D_high.)
   */
  urgent(): boolean {
    if (this.active.size >= this.cfg.D_low) this.refusals = 0
    return this.active.size < this.cfg.D_low && this.refusals > 0
  }

  /** Up to `n` random candidates to ask, marked pending until `expires`. */
  pickToAsk(n: number, expires: number): string[] {
    const out: string[] = []
    while (out.length < n && this.passive.length > 0) {
      const i = Math.floor(this.random() * this.passive.length)
      const u = this.passive[i]!
      this.passive[i] = this.passive[this.passive.length - 1]!
      this.passive.pop()
      if (this.active.has(u) || this.pending.has(u)) continue
      this.pending.set(u, expires)
      out.push(u)
    }
    return out
  }

  /** `uid` is asked now (not picked from the candidates: see ChannelOverlay.invite); false if linked or asked already. */
  ask(uid: string, expires: number): boolean {
    if (uid === this.self || this.active.has(uid) || this.pending.has(uid) || this.active.size >= this.cfg.D_accept) return false
    this.removeCandidate(uid)
    this.pending.set(uid, expires)
    return true
  }

  /** A request still waiting is answered by `expires` at the earliest. */
  extendPending(uid: string, expires: number): void {
    const t = this.pending.get(uid)
    if (t !== undefined && t < expires) this.pending.set(uid, expires)
  }

  /** Requests that expired unanswered (the members are forgotten as candidates); `waiting` ones are kept. */
  expirePending(now: number, waiting: (uid: string) => boolean = () => false): string[] {
    const out: string[] = []
    for (const [u, t] of this.pending) if (t <= now && !waiting(u)) out.push(u)
    for (const u of out) this.pending.delete(u)
    this.refusals += out.length
    return out
  }

  /**
   * A member asks to link: accepted below D_accept links, or below D_high if it is urgent; an
   * urgent request to a full member makes room by dropping a random link.
   */
  onRequest(from: string, urgent: boolean): NeighborAnswer {
    this.pending.delete(from)
    if (from === this.self) return { accepted: false }
    if (this.active.has(from)) return { accepted: true, evicted: null }
    if (this.active.size < (urgent ? this.cfg.D_high : this.cfg.D_accept)) {
      this.link(from)
      return { accepted: true, evicted: null }
    }
    if (!urgent) return { accepted: false }
    const evicted = this.randomActive([from])
    if (evicted === null) return { accepted: false }
    this.unlink(evicted)
    this.link(from)
    return { accepted: true, evicted }
  }

  /**
   * The answer to our request. An acceptance we no longer need (links came in meanwhile) is
   * declined by the caller: false here.
   */
  onReply(from: string, accepted: boolean): boolean {
    const asked = this.pending.delete(from)
    if (!accepted) {
      this.refusals++
      return false
    }
    if (this.active.has(from)) return true
    // Links that came in meanwhile may have made up for it.
    if (!asked || this.active.size >= this.cfg.D_accept) return false
    this.link(from)
    return true
  }

  link(uid: string): void {
    if (uid === this.self) return
    this.active.add(uid)
    this.removeCandidate(uid)
  }

  /** Drops a link; the member stays a candidate unless it is gone for good. */
  unlink(uid: string, gone = false): boolean {
    this.pending.delete(uid)
    const had = this.active.delete(uid)
    if (gone) this.removeCandidate(uid)
    else if (had) this.addCandidates([uid])
    return had
  }

  /** A few members to suggest to someone: random links and candidates, not `except`. */
  suggest(n: number, except: string): string[] {
    const pool = [...this.active, ...this.passive].filter((u) => u !== except)
    const out: string[] = []
    while (out.length < n && pool.length > 0) {
      const i = Math.floor(this.random() * pool.length)
      out.push(pool[i]!)
      pool[i] = pool[pool.length - 1]!
      pool.pop()
    }
    return out
  }

  private randomActive(except: string[]): string | null {
    const pool = [...this.active].filter((u) => !except.includes(u))
    return pool.length ? pool[Math.floor(this.random() * pool.length)]! : null
  }
}
