/**
 * One channel's overlay at one member: ties the links (views), the dissemination (plumtree),
 * the per-origin order, the caches and the signatures together. Pure logic: frames in through
 * receive(), out through deps.send(), time through deps.clock.
 */
import {
  ErrorCode,
  GossipFlag,
  MAX_PULL_SPAN,
  OverlayFrameType,
  PlazaError,
  ProtocolError,
  decodeOverlayFrame,
  encodeOverlayFrame,
  overlayMessageSigningBytes,
  type MemberCert,
  type MessageKind,
  type OverlayFrame,
  type OverlayGossipFrame,
  type OverlayIHaveEntry,
  type OverlayMessageId,
  type TimerHandle,
} from '@plaza/protocol'
import { MessageCache, SeenSet } from './cache.js'
import { overlayConfig, type OverlayConfig } from './config.js'
import { StreamOrder } from './order.js'
import { Plumtree, messageKey, streamKey, type Announcer } from './plumtree.js'
import { CertVerifier, andThen } from './signing.js'
import { GapPuller } from './gaps.js'
import { ForwardHolds, holdRule } from './hold.js'
import { TreeShaper } from './tree-shape.js'
import type { MaybePromise, OverlayDeps, OwnStream } from './types.js'
import { Views } from './views.js'

export interface OverlayStats {
  /** Frames sent, by OverlayFrameType. */
  sent: Record<number, number>
  /** Frames received, by OverlayFrameType. */
  received: Record<number, number>
  /** GOSSIP copies of messages already seen. */
  duplicates: number
  rejected: number
  delivered: number
  skipped: number
}

export class ChannelOverlay {
  readonly cfg: OverlayConfig
  readonly stats: OverlayStats = { sent: {}, received: {}, duplicates: 0, rejected: 0, delivered: 0, skipped: 0 }
  private readonly views: Views
  private readonly tree: Plumtree
  private readonly seen: SeenSet
  private readonly cache: MessageCache<OverlayGossipFrame>
  private readonly certs: CertVerifier
  private readonly orders = new Map<string, StreamOrder<OverlayGossipFrame>>()
  private readonly shape: TreeShaper
  private readonly gaps: GapPuller
  /** Messages whose signature is being checked (asynchronous crypto), with copies that came meanwhile. */
  private readonly verifying = new Map<string, Array<{ from: string; f: OverlayGossipFrame }>>()
  /** Messages held before they go on (floodHoldFrom, detourHoldBy). */
  private readonly holds: ForwardHolds
  private readonly joinedAt: number
  private seq = 0
  private lastSentTs = 0
  /** This member's last message that went out (signed and sent); seqs given after it went nowhere if this overlay stopped. */
  private sent: OwnStream
  private publishing: Promise<void> | null = null
  private wakeTimer: TimerHandle | null = null
  private wakeAt = 0
  private maintainTimer: TimerHandle | null = null
  private stopped = false
  private readonly toldUnlinked = new Set<string>()
  /** Keys of this member's messages published while it had no link: pushed to its first neighbour. */
  private unlinkedOwn: string[] = []
  /** This member's certificate (renewed before it expires: see renewCert). */
  private cert: MemberCert

  constructor(
    private readonly deps: OverlayDeps,
    config: Partial<OverlayConfig> = {},
  ) {
    this.cfg = overlayConfig(config)
    this.views = new Views(deps.self, this.cfg, deps.random)
    this.tree = new Plumtree(deps.channel, this.cfg, (peer, f) => this.sendFrame(peer, f))
    const orders = this.orders
    this.shape = new TreeShaper(this.cfg, {
      active: this.views.active,
      tree: this.tree,
      joined: (sk) => orders.has(sk),
      top: (sk) => orders.get(sk)?.top ?? 0,
    })
    this.gaps = new GapPuller(this.cfg, {
      active: this.views.active,
      order: (sk) => orders.get(sk),
      parent: (sk) => this.shape.parent(sk),
      random: () => deps.random(),
      pull: (peer, origin, stream, from, to) => this.sendFrame(peer, { type: OverlayFrameType.PULL, channel: deps.channel, origin, stream, from, to }),
      pullOrigin: (origin, stream, from, to) => {
        if (origin !== deps.self && !this.views.active.has(origin) && deps.pullsOrigin?.()) this.sendFrame(origin, { type: OverlayFrameType.PULL, channel: deps.channel, origin, stream, from, to })
      },
      skipped: (origin, stream, range, deliver) => {
        if (range) this.noteSkipped(origin, stream, range)
        for (const m of deliver) this.deliver(m)
      },
      wake: (at) => this.wake(at),
    })
    this.seen = new SeenSet(this.cfg.seenTtlMs)
    this.cache = new MessageCache(this.cfg.cacheSize, this.cfg.cacheTtlMs)
    this.holds = new ForwardHolds(deps.clock, (key) => this.cache.get(key)?.hops, (key, firstFrom, lastFrom) => {
      const m = this.cache.get(key)
      if (m && !this.stopped) this.forward(m, firstFrom, this.deps.clock.now(), lastFrom)
    })
    this.certs = new CertVerifier(deps.crypto, deps.nodeKey, deps.app, deps.channel, this.cfg.certCacheSize)
    this.joinedAt = deps.joinedAt ?? deps.clock.now()
    this.cert = deps.cert
    this.sent = deps.resume ?? { seq: 0, lastSentTs: 0 }
    this.seq = this.sent.seq
    this.lastSentTs = this.sent.lastSentTs
  }

  /** Whether `origin`'s message `seq` of `stream` was delivered or skipped here (or sent before this member's overlay began). */
  passed(origin: string, stream: string, seq: number): boolean {
    const order = this.orders.get(streamKey(origin, stream))
    // A stream not seen yet: its messages may still come (askOrigin asks for them).
    return order !== undefined && order.next > 0 && seq < order.next
  }

  /**
   * A copy that follows `origin`'s message `seq` of `stream` went to the app without it (it waited
   * long enough, or this member had not got that stream): that message and any before it still
   * missing are skipped (reported like a gap given up), what waited behind them is delivered, and
   * a late copy of one of them is dropped: the member's order holds.
   */
  skipThrough(origin: string, stream: string, seq: number): void {
    const sk = streamKey(origin, stream)
    const now = this.deps.clock.now()
    let order = this.orders.get(sk)
    // Not a stream this member got yet: its messages up to `seq` are not delivered when they come.
    if (!order) this.orders.set(sk, (order = new StreamOrder(this.joinedAt, now, this.cfg.streamTtlMs)))
    if (order.next > 0 && seq < order.next) return
    const r = order.skipThrough(seq, now)
    for (const range of r.skipped) this.noteSkipped(origin, stream, range)
    for (const m of r.deliver) this.deliver(m)
    this.gaps.note(sk, order, now)
  }

  /**
   * Asks `origin` itself for its messages of `stream` up to `seq` that this member has not had (a
   * copy named `seq`: the sender went back to copies, and no later overlay message may show the
   * gap): it keeps them in its cache. The answer comes over a direct link, neighbour or not. One
   * neighbour is asked too (the stream's parent, else one at random): no direct link may reach
   * the origin, and the message may have reached this member's neighbours only.
   */
  askOrigin(origin: string, stream: string, seq: number): void {
    if (this.stopped || origin === this.deps.self) return
    const sk = streamKey(origin, stream)
    const order = this.orders.get(sk)
    if (order && order.next > 0 && seq < order.next) return
    const from = order && order.next > 0 ? Math.max(order.next, seq - MAX_PULL_SPAN + 1) : seq
    const pull = { type: OverlayFrameType.PULL, channel: this.deps.channel, origin, stream, from, to: seq } as const
    this.sendFrame(origin, pull)
    const active = this.views.active
    const parent = this.shape.parent(sk)
    const others = [...active].filter((p) => p !== origin)
    const neighbour = parent !== undefined && parent !== origin && active.has(parent) ? parent : others[Math.floor(this.deps.random() * others.length)]
    if (neighbour !== undefined) this.sendFrame(neighbour, pull)
  }

  /** Where this member's own stream stands: its last message that went out (the overlay that goes on from this one starts there: deps.resume). */
  get ownStream(): OwnStream {
    return { ...this.sent }
  }

  /** A fresh certificate from the node (same key): messages published from now on carry it. */
  renewCert(cert: MemberCert): void {
    this.cert = cert
  }

  /** The members this one is linked to. */
  get links(): string[] {
    return [...this.views.active]
  }

  get linkCount(): number {
    return this.views.active.size
  }

  start(): void {
    if (this.maintainTimer !== null || this.stopped) return
    this.maintainTimer = this.deps.clock.setInterval(() => this.maintain(), this.cfg.maintainMs, true)
    this.maintain()
  }

  /** Seeks no more links (start() again to resume); messages still come, go on and are repaired over those it has. */
  quiesce(): void {
    this.deps.clock.clearInterval(this.maintainTimer)
    this.maintainTimer = null
  }

  /** Leaves the overlay: tells each neighbour (with other members to link to), then stops. */
  stop(): void {
    if (this.stopped) return
    for (const p of this.views.active) {
      this.sendFrame(p, { type: OverlayFrameType.DISCONNECT, channel: this.deps.channel, suggest: this.views.suggest(this.cfg.suggestions, p) })
    }
    this.stopped = true
    this.deps.clock.clearInterval(this.maintainTimer)
    this.deps.clock.clearTimeout(this.wakeTimer)
    this.maintainTimer = this.wakeTimer = null
  }

  /** Members the node introduced: candidates for links. */
  addCandidates(uids: readonly string[]): void {
    this.views.addCandidates(uids)
    if (this.views.wanted() > 0 && !this.stopped && this.maintainTimer !== null) this.maintain()
  }

  /**
   * Asks `uid` to link now, whether or not this member needs a link: a member that just joined
   * cannot always tell that the channel runs its overlay, and starts its own on this request.
   */
  invite(uid: string): void {
    if (this.stopped || !this.views.ask(uid, this.deps.clock.now() + this.cfg.neighborTimeoutMs)) return
    this.sendFrame(uid, { type: OverlayFrameType.NEIGHBOR, channel: this.deps.channel, urgent: false })
  }

  /** The host's link to `peer` opened: a request sent over it is answered from now (a link over TURN may take longer than the request's timeout). */
  linkReady(peer: string): void {
    this.views.extendPending(peer, this.deps.clock.now() + this.cfg.neighborTimeoutMs)
  }

  /** The host lost its link to `peer` (closed, failed, or the member left). */
  linkDown(peer: string): void {
    const had = this.views.unlink(peer, true)
    this.dropLink(peer)
    if (had) this.deps.onEvent?.({ type: 'link-down', peer })
  }

  /** Sends a message of this member to the channel; resolves to its seq once it is signed and sent. */
  publish(kind: MessageKind, body: Uint8Array): MaybePromise<number> {
    if (this.stopped) throw new PlazaError(ErrorCode.INVALID_STATE, 'overlay stopped')
    const seq = ++this.seq
    const sentTs = Math.max(this.deps.clock.now(), this.lastSentTs, 1)
    const fields = { channel: this.deps.channel, origin: this.deps.self, stream: this.deps.stream, seq, prevTs: seq === 1 ? 0 : this.lastSentTs, sentTs, kind, body }
    this.lastSentTs = sentTs
    const sig = this.deps.crypto.sign(overlayMessageSigningBytes(fields))
    const go = (s: Uint8Array): number => {
      // Stopped while it was being signed: it never went (the next overlay of this client reuses its seq).
      if (this.stopped) throw new PlazaError(ErrorCode.INVALID_STATE, 'overlay stopped')
      this.originate({ type: OverlayFrameType.GOSSIP, ...fields, hops: 0, flags: 0, sig: s, cert: this.cert })
      this.sent = { seq, lastSentTs: sentTs }
      return seq
    }
    if (!(sig instanceof Promise) && this.publishing === null) return go(sig)
    // Asynchronous signing: messages still leave in seq order.
    const p = (this.publishing ?? Promise.resolve()).then(() => sig).then(go)
    const settled: Promise<void> = p.then(
      () => {
        if (this.publishing === settled) this.publishing = null
      },
      () => {
        if (this.publishing === settled) this.publishing = null
      },
    )
    this.publishing = settled
    return p
  }

  /** Overlay frame bytes from `peer`. Never throws: a bad frame is reported (onEvent) and dropped. */
  receive(from: string, bytes: Uint8Array): void {
    if (this.stopped) return
    let f: OverlayFrame
    try {
      f = decodeOverlayFrame(bytes)
    } catch (e) {
      this.reject(from, e instanceof PlazaError ? e : new ProtocolError(ErrorCode.MALFORMED_FRAME, String(e)))
      return
    }
    this.stats.received[f.type] = (this.stats.received[f.type] ?? 0) + 1
    if (f.channel !== this.deps.channel) {
      this.reject(from, new ProtocolError(ErrorCode.INVALID_CHANNEL_ID, 'frame for another channel'))
      return
    }
    const now = this.deps.clock.now()
    if (this.halfOpen(from, f)) this.sendFrame(from, { type: OverlayFrameType.DISCONNECT, channel: this.deps.channel, suggest: [] })
    switch (f.type) {
      case OverlayFrameType.GOSSIP:
        this.onGossip(from, f)
        break
      case OverlayFrameType.IHAVE:
        if (!this.cfg.flood) this.shorten(from, f.ids)
        if (this.holds.size > 0) for (const id of f.ids) this.askHeld(from, id)
        this.tree.onIHave(from, f.ids, (id, key) => this.isSeen(id, key), now)
        this.wake(now + this.cfg.graftTimeoutMs)
        break
      case OverlayFrameType.GRAFT:
        this.tree.onGraft(from, f.ids)
        for (const id of f.ids) this.repair(from, messageKey(id.origin, id.stream, id.seq))
        break
      case OverlayFrameType.PRUNE:
        this.tree.onPrune(from, f.streams)
        break
      case OverlayFrameType.PULL:
        for (let s = f.from; s <= f.to; s++) this.repair(from, messageKey(f.origin, f.stream, s))
        break
      case OverlayFrameType.NEIGHBOR:
        this.onNeighbor(from, f.urgent)
        break
      case OverlayFrameType.NEIGHBOR_REPLY:
        this.views.addCandidates(f.suggest)
        if (this.views.onReply(from, f.accepted)) this.linkedUp(from)
        else if (f.accepted) this.sendFrame(from, { type: OverlayFrameType.DISCONNECT, channel: this.deps.channel, suggest: [] })
        break
      case OverlayFrameType.DISCONNECT: {
        const had = this.views.unlink(from)
        this.dropLink(from)
        this.views.addCandidates(f.suggest)
        if (had) this.deps.onEvent?.({ type: 'link-down', peer: from })
        break
      }
    }
  }

  /**
   * Tree traffic from a member this one is not linked to: that member thinks the link is up (our
   * refusal or goodbye was lost). Told once per maintenance round, so both sides agree again.
   */
  private halfOpen(from: string, f: OverlayFrame): boolean {
    const tree = f.type === OverlayFrameType.IHAVE || f.type === OverlayFrameType.PRUNE || (f.type === OverlayFrameType.GOSSIP && !(f.flags & GossipFlag.REPAIR))
    if (!tree || this.views.active.has(from) || this.toldUnlinked.has(from)) return false
    this.toldUnlinked.add(from)
    return true
  }

  private onNeighbor(from: string, urgent: boolean): void {
    const had = this.views.active.has(from)
    const a = this.views.onRequest(from, urgent)
    if (!a.accepted) {
      this.sendFrame(from, { type: OverlayFrameType.NEIGHBOR_REPLY, channel: this.deps.channel, accepted: false, suggest: this.views.suggest(this.cfg.suggestions, from) })
      return
    }
    if (a.evicted !== null) {
      this.dropLink(a.evicted)
      this.sendFrame(a.evicted, { type: OverlayFrameType.DISCONNECT, channel: this.deps.channel, suggest: this.views.suggest(this.cfg.suggestions, a.evicted) })
      this.deps.onEvent?.({ type: 'link-down', peer: a.evicted })
    }
    this.sendFrame(from, { type: OverlayFrameType.NEIGHBOR_REPLY, channel: this.deps.channel, accepted: true, suggest: [] })
    if (!had) this.linkedUp(from)
  }

  /**
   * Plumtree's optimisation: a message we have came by a path at least `shortenBy` hops longer
   * than the one `from` announces: `from` becomes our parent for its stream (GRAFT), the one it
   * came from is pruned, so the stream's later messages take the shorter path.
   */
  private shorten(from: string, ids: OverlayIHaveEntry[]): void {
    for (const id of ids) {
      const sk = streamKey(id.origin, id.stream)
      this.shape.note(sk, from, id.hops)
      const mine = this.cache.get(messageKey(id.origin, id.stream, id.seq))
      if (mine) this.shape.shortenTo(sk, from, id.hops, mine)
    }
  }

  /** A link is gone: its streams regrafted (see TreeShaper.dropLink). */
  private dropLink(peer: string): void {
    this.tree.dropLink(peer)
    this.shape.dropLink(peer, !this.cfg.flood)
  }

  /**
   * A duplicate that came by a shorter path than the copy delivered (a faster link is not always a
   * shorter path): its link becomes the stream's parent and the old parent is pruned, so later
   * messages take the shorter path. From each stream's first message (which goes over every link)
   * the tree starts out near a shortest-path tree.
   */
  private adoptShorter(from: string, f: OverlayGossipFrame, key: string): boolean {
    if (this.cfg.flood) return false
    const mine = this.cache.get(key)
    if (!mine || !this.shape.adoptShorter(streamKey(f.origin, f.stream), from, f, mine.hops)) return false
    this.cache.replace(key, { ...mine, hops: f.hops })
    return true
  }

  /**
   * A held message (it came by a detour) that `from` announces by a path short enough to end the
   * hold sooner: asked for at once (GRAFT; the answer is a repair copy) rather than waiting for a
   * parent's copy that may not come — a parent gone, a push lost.
   */
  private askHeld(from: string, id: OverlayIHaveEntry, askedAlready = false): boolean {
    const key = messageKey(id.origin, id.stream, id.seq)
    if (!this.views.active.has(from) || !this.holds.askFor(key, id.hops)) return false
    if (!askedAlready) this.tree.graft(from, [{ origin: id.origin, stream: id.stream, seq: id.seq }])
    return true
  }

  /** A repair copy of a message held here, by fewer hops: it goes on with those hops, as soon as they allow. */
  private shorterRepair(from: string, f: OverlayGossipFrame, key: string): void {
    if (!this.holds.has(key)) return
    const mine = this.cache.get(key)
    if (!mine || f.hops >= mine.hops) return
    this.cache.replace(key, { ...mine, hops: f.hops })
    this.holds.update(key, from)
  }

  private isSeen(id: OverlayMessageId, key: string): boolean {
    return this.seen.has(key) || this.verifying.has(key) || (this.orders.get(streamKey(id.origin, id.stream))?.has(id.seq) ?? false)
  }

  private onGossip(from: string, f: OverlayGossipFrame): void {
    const key = messageKey(f.origin, f.stream, f.seq)
    const copies = this.verifying.get(key)
    if (copies) {
      copies.push({ from, f })
      return
    }
    if (this.isSeen(f, key)) {
      this.stats.duplicates++
      this.shape.note(streamKey(f.origin, f.stream), from, f.hops - 1)
      if (f.flags & GossipFlag.REPAIR) {
        this.shorterRepair(from, f, key)
        return
      }
      if (this.adoptShorter(from, f, key)) this.holds.update(key, from)
      else this.tree.duplicate(from, f)
      return
    }
    if (this.deps.originAllowed && !this.deps.originAllowed(f.origin)) {
      this.reject(from, new PlazaError(ErrorCode.NOT_PERMITTED, `messages from ${f.origin} are not allowed here`))
      return
    }
    const now = this.deps.clock.now()
    const ok = andThen(this.certs.verify(f.cert, now), (certOk) =>
      certOk ? this.deps.crypto.verify(f.cert.pubkey, overlayMessageSigningBytes(f), f.sig) : false,
    )
    if (!(ok instanceof Promise)) {
      this.verified(from, f, key, ok)
      return
    }
    this.verifying.set(key, [])
    void ok
      .then((v) => v, () => false)
      .then((v) => {
        const later = this.verifying.get(key) ?? []
        this.verifying.delete(key)
        if (this.stopped) return
        this.verified(from, f, key, v)
        // Copies that came while checking: duplicates now, or (if this one was forged) candidates in their own right.
        for (const c of later) this.onGossip(c.from, c.f)
      })
  }

  private verified(from: string, f: OverlayGossipFrame, key: string, ok: boolean): void {
    if (!ok) {
      this.reject(from, new PlazaError(ErrorCode.INVALID_MESSAGE, `bad signature or certificate on ${f.origin}'s message ${f.seq}`))
      return
    }
    const now = this.deps.clock.now()
    this.seen.add(key, now)
    const announcedBefore = this.tree.received(key)
    this.cache.put(key, f, now)
    const sk = streamKey(f.origin, f.stream)
    const parent = this.shape.parent(sk)
    const lastHops = this.shape.hops(sk)
    // Announced by a path shorter than the one the copy came by (the tree's push was late).
    let best: Announcer | undefined
    if (announcedBefore && !this.cfg.flood) for (const a of announcedBefore) if (this.views.active.has(a.peer) && (!best || a.hops < best.hops)) best = a
    const holdFor = holdRule(this.cfg, {
      first: !this.orders.has(sk) || lastHops === undefined,
      lastHops: lastHops ?? 0,
      offParent: parent !== undefined && parent !== from && this.views.active.has(parent),
      announced: best && this.tree.hasEager(this.views.active, f, from) ? best.hops + 1 : undefined,
    })
    this.shape.cameFrom(sk, from, f.hops)
    let order = this.orders.get(sk)
    if (!order) this.orders.set(sk, (order = new StreamOrder(this.joinedAt, now, this.cfg.streamTtlMs)))
    const r = order.accept(f, now)
    const held = this.holds.hold(key, from, f.hops, holdFor)
    if (!held) this.forward(f, from, now)
    // Held off the parent: the parent's push is late or lost (loss, a busy parent). Asked for at
    // once, its repair copy ends the hold with the tree's depth — not the detour's, which the
    // whole subtree below would otherwise inherit.
    else if (parent !== undefined && parent !== from && this.views.active.has(parent)) {
      this.tree.graft(parent, [{ origin: f.origin, stream: f.stream, seq: f.seq }])
      // As long as a member below would wait before asking for it elsewhere itself.
      this.holds.waitLonger(key, this.cfg.ihaveIntervalMs + this.cfg.graftTimeoutMs)
    }
    // Announced by a shorter path before the copy came (the tree's path was longer but faster, or late).
    if (announcedBefore && !this.cfg.flood) {
      for (const a of announcedBefore) this.shape.note(sk, a.peer, a.hops)
      if (best) {
        this.shape.shortenTo(sk, best.peer, best.hops, f)
        // Asked already (the announcement came long enough before the copy): its answer is on its way.
        if (held && this.askHeld(best.peer, { ...f, hops: best.hops }, best.asked === true)) {
          this.holds.waitLonger(key, this.cfg.ihaveIntervalMs + this.cfg.graftTimeoutMs)
        }
      }
    }
    if (r.status === 'ok') {
      for (const m of r.deliver) this.deliver(m)
      this.gaps.note(sk, order, now)
    }
  }

  private originate(f: OverlayGossipFrame): void {
    const now = this.deps.clock.now()
    const key = messageKey(f.origin, f.stream, f.seq)
    this.seen.add(key, now)
    this.cache.put(key, f, now)
    this.forward(f, null, now)
    // Nobody to tell: nothing later would reveal it if it is the last of a burst.
    if (this.views.active.size === 0 && this.unlinkedOwn.push(key) > this.cfg.cacheSize) this.unlinkedOwn.shift()
  }

  /** This member's own messages that went to nobody (published while it had no link), oldest first; forgotten here. */
  takeUnlinked(): Array<{ seq: number; kind: MessageKind; body: Uint8Array }> {
    const keys = this.unlinkedOwn
    this.unlinkedOwn = []
    const out: Array<{ seq: number; kind: MessageKind; body: Uint8Array }> = []
    for (const key of keys) {
      const m = this.cache.get(key)
      if (m) out.push({ seq: m.seq, kind: m.kind, body: m.body })
    }
    return out
  }

  /** A link came up: this member's messages that went to nobody go over it first. */
  private linkedUp(peer: string): void {
    this.deps.onEvent?.({ type: 'link-up', peer })
    this.announceLatest(peer)
    if (this.unlinkedOwn.length === 0) return
    const keys = this.unlinkedOwn
    this.unlinkedOwn = []
    for (const key of keys) {
      const m = this.cache.get(key)
      if (m) this.sendFrame(peer, { ...m, hops: m.hops + 1, flags: 0 })
    }
  }

  /** Tells a new neighbour of each stream's latest message seen lately (see latestOnLinkMs). */
  private announceLatest(peer: string): void {
    if (this.cfg.flood) return
    const now = this.deps.clock.now()
    const tops: Array<[string, number]> = [[streamKey(this.deps.self, this.deps.stream), this.seq]]
    for (const [sk, order] of this.orders) tops.push([sk, order.top])
    for (const [sk, top] of tops) {
      const m = top > 0 ? this.cache.get(`${sk}\n${top}`) : undefined
      if (m && now - m.sentTs <= this.cfg.latestOnLinkMs) this.tree.announce(peer, { origin: m.origin, stream: m.stream, seq: m.seq, hops: m.hops }, now)
    }
    if (this.tree.announceDue > 0) this.wake(this.tree.announceDue)
  }

  private forward(f: OverlayGossipFrame, from: string | null, now: number, alsoNot: string | null = null): void {
    const eager = this.tree.route(this.views.active, f, from, now, alsoNot)
    if (eager.length > 0) {
      const bytes = encodeOverlayFrame({ ...f, hops: f.hops + 1, flags: 0 })
      for (const p of eager) this.sendBytes(p, OverlayFrameType.GOSSIP, bytes)
    }
    if (this.tree.announceDue > 0) this.wake(this.tree.announceDue)
  }

  private repair(to: string, key: string): void {
    const m = this.cache.get(key)
    if (m) this.sendFrame(to, { ...m, hops: m.hops + 1, flags: GossipFlag.REPAIR })
  }

  private noteSkipped(origin: string, stream: string, range: { from: number; to: number }): void {
    this.stats.skipped += range.to - range.from + 1
    this.deps.onEvent?.({ type: 'skipped', origin, stream, ...range })
  }

  private deliver(m: OverlayGossipFrame): void {
    this.stats.delivered++
    this.deps.deliver({ origin: m.origin, stream: m.stream, seq: m.seq, sentTs: m.sentTs, kind: m.kind, body: m.body, hops: m.hops })
  }

  private wake(at: number): void {
    if (this.stopped) return
    if (this.wakeTimer !== null && this.wakeAt <= at) return
    this.deps.clock.clearTimeout(this.wakeTimer)
    this.wakeAt = at
    this.wakeTimer = this.deps.clock.setTimeout(() => this.onWake(), Math.max(0, at - this.deps.clock.now()), true)
  }

  private onWake(): void {
    this.wakeTimer = null
    if (this.stopped) return
    const now = this.deps.clock.now()
    const a = this.tree.tick(now, (key) => this.seen.has(key))
    const b = this.gaps.tick(now)
    const next = a === 0 ? b : b === 0 ? a : Math.min(a, b)
    if (next > 0) this.wake(Math.max(next, now + 1))
  }

  private maintain(): void {
    if (this.stopped) return
    const now = this.deps.clock.now()
    this.views.expirePending(now, (u) => this.deps.linkOpening?.(u) ?? false)
    this.toldUnlinked.clear()
    const n = this.views.wanted()
    if (n > 0) {
      const urgent = this.views.urgent()
      const ask = this.views.pickToAsk(n, now + this.cfg.neighborTimeoutMs)
      for (const p of ask) this.sendFrame(p, { type: OverlayFrameType.NEIGHBOR, channel: this.deps.channel, urgent })
      if (ask.length < n) this.deps.requestCandidates?.()
    }
    this.seen.expire(now)
    this.cache.expire(now)
    for (const [sk, o] of this.orders) {
      if (now - o.lastActive > this.cfg.streamTtlMs && o.waitingCount === 0) {
        this.orders.delete(sk)
        this.shape.forget(sk)
        this.tree.forgetStream(sk)
      }
    }
  }

  private reject(from: string, error: PlazaError): void {
    this.stats.rejected++
    this.deps.onEvent?.({ type: 'rejected', from, error })
  }

  private sendFrame(peer: string, f: OverlayFrame): void {
    this.sendBytes(peer, f.type, encodeOverlayFrame(f))
  }

  private sendBytes(peer: string, type: OverlayFrameType, bytes: Uint8Array): void {
    if (this.stopped) return
    this.stats.sent[type] = (this.stats.sent[type] ?? 0) + 1
    this.deps.send(peer, bytes)
  }
}
