import type { OverlayMessageId } from '@plaza/protocol'
import type { OverlayConfig } from './config.js'
import type { Plumtree } from './plumtree.js'

/** What the shaper needs of the overlay around it. */
export interface TreeShapeHost {
  /** The members linked to now. */
  readonly active: ReadonlySet<string>
  readonly tree: Plumtree
  /** This member takes part in the stream (it has an order for it). */
  joined(sk: string): boolean
  /** The highest seq of the stream seen here (0: none). */
  top(sk: string): number
}

/**
 * Keeps each stream's tree near a shortest-path tree at this member: which neighbour is its
 * parent (the link its latest message came over), and how many hops each neighbour last had the
 * stream at (from announcements and duplicates). A shorter path seen moves the stream to it; a lost
 * parent is replaced at once by the nearest neighbour. Moves are GRAFT + PRUNE through the tree,
 * naming the stream's next message (the new parent holds nothing of it yet: it only starts pushing).
 */
export class TreeShaper {
  /** Per stream, the link its latest message came over (first asked to fill a gap), and by how many hops. */
  private readonly lastFrom = new Map<string, string>()
  private readonly lastHops = new Map<string, number>()
  /** Per stream, the hops at which each neighbour last had one of its messages. */
  private readonly around = new Map<string, Map<string, number>>()

  constructor(
    private readonly cfg: OverlayConfig,
    private readonly host: TreeShapeHost,
  ) {}

  /** The link the stream's latest message came over. */
  parent(sk: string): string | undefined {
    return this.lastFrom.get(sk)
  }

  /** The hops the stream's latest message came by (undefined: none yet). */
  hops(sk: string): number | undefined {
    return this.lastHops.get(sk)
  }

  /** A new message of the stream came over `from` by `hops`. */
  cameFrom(sk: string, from: string, hops: number): void {
    this.lastFrom.set(sk, from)
    this.lastHops.set(sk, hops)
  }

  /** `peer` had one of the stream's messages at `hops`. */
  note(sk: string, peer: string, hops: number): void {
    // Only streams this member takes part in, from its neighbours (announcements may name any stream: no unbounded growth).
    if (!this.host.joined(sk) || !this.host.active.has(peer)) return
    let m = this.around.get(sk)
    if (!m) this.around.set(sk, (m = new Map()))
    m.set(peer, hops)
  }

  /**
   * Plumtree's optimisation: `to` had the message `mine` (here at `mine.hops`) at `hops`; if that
   * path is `shortenBy` shorter, `to` becomes the stream's parent and the old one is pruned.
   */
  shortenTo(sk: string, to: string, hops: number, mine: OverlayMessageId & { hops: number }): void {
    const parent = this.lastFrom.get(sk)
    if (parent === undefined || parent === to || !this.host.active.has(parent) || !this.host.active.has(to)) return
    if (mine.hops - (hops + 1) < this.cfg.shortenBy) return
    this.lastFrom.set(sk, to)
    this.lastHops.set(sk, hops + 1)
    this.host.tree.swapParent(to, parent, this.nextOf(sk, mine))
  }

  /**
   * A duplicate came from `from` at `hops` (the copy here came at `mineHops`): if its path is
   * `adoptShorterBy` shorter, its link becomes the parent (no payload is sent for it: the copy is
   * here already). True when it did.
   */
  adoptShorter(sk: string, from: string, m: OverlayMessageId & { hops: number }, mineHops: number): boolean {
    const parent = this.lastFrom.get(sk)
    if (parent === undefined || parent === from || !this.host.active.has(parent) || !this.host.active.has(from)) return false
    if (mineHops - m.hops < this.cfg.adoptShorterBy) return false
    this.lastFrom.set(sk, from)
    this.lastHops.set(sk, m.hops)
    // GRAFT as well: `from` most likely pruned us when our own copy reached it second.
    this.host.tree.swapParent(from, parent, this.nextOf(sk, m))
    return true
  }

  /**
   * A link is gone. Streams whose parent it was are grafted at once to the neighbour that had
   * their last message by the fewest hops, so their next message comes by a short path — not by
   * whichever neighbour happens to push it first (a whole subtree would hang below that path).
   */
  dropLink(peer: string, regraft: boolean): void {
    for (const m of this.around.values()) m.delete(peer)
    if (!regraft) return
    const grafts = new Map<string, OverlayMessageId[]>()
    for (const [sk, parent] of this.lastFrom) {
      if (parent !== peer) continue
      let best: string | undefined
      let bestHops = Infinity
      for (const [p, h] of this.around.get(sk) ?? []) {
        if (h < bestHops && this.host.active.has(p)) {
          best = p
          bestHops = h
        }
      }
      if (best === undefined) continue
      const [origin, stream] = sk.split('\n') as [string, string]
      this.lastFrom.set(sk, best)
      this.lastHops.set(sk, bestHops + 1)
      const next = this.nextOf(sk, { origin, stream, seq: 0 })
      const list = grafts.get(best)
      if (list) list.push(next)
      else grafts.set(best, [next])
    }
    for (const [to, ids] of grafts) this.host.tree.graft(to, ids)
  }

  /** The stream is forgotten here. */
  forget(sk: string): void {
    this.lastFrom.delete(sk)
    this.lastHops.delete(sk)
    this.around.delete(sk)
  }

  /** The stream's next message (GRAFT names it). */
  private nextOf(sk: string, m: OverlayMessageId): OverlayMessageId {
    return { origin: m.origin, stream: m.stream, seq: Math.max(this.host.top(sk), m.seq) + 1 }
  }
}
