/**
 * Dissemination in the manner of Plumtree (Leitão, Pereira, Rodrigues, "Epidemic Broadcast
 * Trees", SRDS 2007), one tree per origin stream: a message goes eagerly to every link not
 * pruned for its stream and is announced (IHAVE, batched) over the pruned ones. A duplicate prunes
 * the link it came over, so each stream's tree forms itself from the first deliveries; an
 * announced message that does not arrive in time is asked for (GRAFT), which also puts the link
 * back into the tree.
 */
import { MAX_OVERLAY_IDS, OverlayFrameType, type OverlayFrame, type OverlayIHaveEntry, type OverlayMessageId, type OverlayStreamRef } from '@plaza/protocol'
import type { OverlayConfig } from './config.js'

export const streamKey = (origin: string, stream: string): string => `${origin}\n${stream}`
export const messageKey = (origin: string, stream: string, seq: number): string => `${origin}\n${stream}\n${seq}`

export interface Announcer {
  peer: string
  hops: number
  asked?: boolean
}

interface Missing {
  id: OverlayMessageId
  /** Members that announced it, with the hops it took to reach them (`asked`: a GRAFT went to it). */
  announcers: Announcer[]
  due: number
}

export class Plumtree {
  /** Per stream: links pruned from its tree (eager = links − these). */
  private readonly lazy = new Map<string, Set<string>>()
  private readonly missing = new Map<string, Missing>()
  private readonly ihave = new Map<string, OverlayIHaveEntry[]>()
  private ihaveDue = 0

  constructor(
    private readonly channel: string,
    private readonly cfg: OverlayConfig,
    private readonly send: (peer: string, f: OverlayFrame) => void,
  ) {}

  get missingCount(): number {
    return this.missing.size
  }

  /** Where a new message of `stream` goes: eager links get it now, lazy ones an announcement. */
  route(links: Iterable<string>, id: OverlayIHaveEntry, except: string | null, now: number, alsoExcept: string | null = null): string[] {
    const lazy = this.cfg.flood ? undefined : this.lazy.get(streamKey(id.origin, id.stream))
    const eager: string[] = []
    for (const p of links) {
      if (p === except || p === alsoExcept) continue
      if (lazy?.has(p)) this.announce(p, { origin: id.origin, stream: id.stream, seq: id.seq, hops: id.hops }, now)
      else eager.push(p)
    }
    return eager
  }

  /** Whether a message of the stream would go eagerly to any of `links` but `except` (someone below to hand it to). */
  hasEager(links: Iterable<string>, ref: OverlayStreamRef, except: string): boolean {
    const lazy = this.cfg.flood ? undefined : this.lazy.get(streamKey(ref.origin, ref.stream))
    for (const p of links) if (p !== except && !lazy?.has(p)) return true
    return false
  }

  /** A message arrived: nothing is missing any more. Returns who announced it before it came (with their hops, and whether asked). */
  received(key: string): ReadonlyArray<Announcer> | undefined {
    const m = this.missing.get(key)
    this.missing.delete(key)
    return m?.announcers
  }

  /** A copy of a message already seen came from `from` over the tree: prune that link for the stream. */
  duplicate(from: string, ref: OverlayStreamRef): void {
    if (this.cfg.flood) return
    const set = this.lazySet(ref)
    if (set.has(from)) return
    set.add(from)
    this.send(from, { type: OverlayFrameType.PRUNE, channel: this.channel, streams: [ref] })
  }

  onPrune(from: string, streams: OverlayStreamRef[]): void {
    if (this.cfg.flood) return
    for (const s of streams) this.lazySet(s).add(from)
  }

  /**
   * `to` is the stream's shorter way to us: asked to push (GRAFT), the old parent pruned. `next`
   * names the stream's next message, which `to` does not hold yet, so nothing is sent twice.
   */
  swapParent(to: string, parent: string, next: OverlayMessageId): void {
    const id = next
    const set = this.lazySet(id)
    set.delete(to)
    set.add(parent)
    this.send(to, { type: OverlayFrameType.GRAFT, channel: this.channel, ids: [id] })
    this.send(parent, { type: OverlayFrameType.PRUNE, channel: this.channel, streams: [{ origin: id.origin, stream: id.stream }] })
  }

  /** Asks `to` to push the streams of `next` (each named by its next message: nothing is sent twice). */
  graft(to: string, next: OverlayMessageId[]): void {
    for (const id of next) this.lazy.get(streamKey(id.origin, id.stream))?.delete(to)
    for (let i = 0; i < next.length; i += MAX_OVERLAY_IDS) {
      this.send(to, { type: OverlayFrameType.GRAFT, channel: this.channel, ids: next.slice(i, i + MAX_OVERLAY_IDS) })
    }
  }

  /** A member asked for messages: its link is in those streams' trees again. */
  onGraft(from: string, ids: OverlayMessageId[]): void {
    for (const id of ids) this.lazy.get(streamKey(id.origin, id.stream))?.delete(from)
  }

  /** Announced ids not seen (`seen` says which are): wait for them, then GRAFT the closest announcer. */
  onIHave(from: string, ids: OverlayIHaveEntry[], seen: (id: OverlayMessageId, key: string) => boolean, now: number): void {
    for (const id of ids) {
      const key = messageKey(id.origin, id.stream, id.seq)
      if (seen(id, key)) continue
      const m = this.missing.get(key)
      if (m) {
        if (!m.announcers.some((a) => a.peer === from)) m.announcers.push({ peer: from, hops: id.hops })
      } else this.missing.set(key, { id: { origin: id.origin, stream: id.stream, seq: id.seq }, announcers: [{ peer: from, hops: id.hops }], due: now + this.cfg.graftTimeoutMs })
    }
  }

  /** A link is gone: forget it in every stream's tree and as an announcer. */
  dropLink(peer: string): void {
    for (const set of this.lazy.values()) set.delete(peer)
    for (const m of this.missing.values()) {
      const i = m.announcers.findIndex((a) => a.peer === peer)
      if (i >= 0) m.announcers.splice(i, 1)
    }
    this.ihave.delete(peer)
  }

  forgetStream(key: string): void {
    this.lazy.delete(key)
  }

  /** Sends due announcements and GRAFTs; returns when it next has something to do (0: nothing). */
  tick(now: number, seen: (key: string) => boolean): number {
    if (this.ihaveDue > 0 && this.ihaveDue <= now) {
      for (const [peer, ids] of this.ihave) {
        for (let i = 0; i < ids.length; i += MAX_OVERLAY_IDS) {
          this.send(peer, { type: OverlayFrameType.IHAVE, channel: this.channel, ids: ids.slice(i, i + MAX_OVERLAY_IDS) })
        }
      }
      this.ihave.clear()
      this.ihaveDue = 0
    }
    let next = this.ihaveDue
    const grafts = new Map<string, OverlayMessageId[]>()
    for (const [key, m] of this.missing) {
      if (seen(key)) {
        this.missing.delete(key)
        continue
      }
      if (m.due > now) {
        next = next === 0 ? m.due : Math.min(next, m.due)
        continue
      }
      // The announcer closest to the origin not asked yet: a repaired member and what hangs below it stay shallow.
      let best: Announcer | undefined
      for (const a of m.announcers) if (!a.asked && (!best || a.hops < best.hops)) best = a
      if (best) best.asked = true
      const peer = best?.peer
      if (peer === undefined) {
        // Nobody left to ask: the origin's order notices the gap and pulls it.
        this.missing.delete(key)
        continue
      }
      this.lazy.get(streamKey(m.id.origin, m.id.stream))?.delete(peer)
      const list = grafts.get(peer)
      if (list) list.push(m.id)
      else grafts.set(peer, [m.id])
      m.due = now + this.cfg.graftRetryMs
      next = next === 0 ? m.due : Math.min(next, m.due)
    }
    for (const [peer, ids] of grafts) {
      for (let i = 0; i < ids.length; i += MAX_OVERLAY_IDS) {
        this.send(peer, { type: OverlayFrameType.GRAFT, channel: this.channel, ids: ids.slice(i, i + MAX_OVERLAY_IDS) })
      }
    }
    return next
  }

  /** When tick() must run next for queued announcements (0: none queued). */
  get announceDue(): number {
    return this.ihaveDue
  }

  /** Queues an announcement; the batch goes out one interval after its first entry. */
  announce(peer: string, id: OverlayIHaveEntry, now: number): void {
    const list = this.ihave.get(peer)
    if (list) list.push(id)
    else this.ihave.set(peer, [id])
    if (this.ihaveDue === 0) this.ihaveDue = now + this.cfg.ihaveIntervalMs
  }

  private lazySet(ref: OverlayStreamRef): Set<string> {
    const k = streamKey(ref.origin, ref.stream)
    let s = this.lazy.get(k)
    if (!s) this.lazy.set(k, (s = new Set()))
    return s
  }
}
