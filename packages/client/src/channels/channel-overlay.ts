import { decodeOverlayBody, type Clock, type MemberCert, type MessageKind, type TimerHandle } from '@plaza/protocol'
import { ChannelOverlay, type OverlayCrypto, type OverlayDelivery, type OverlayEvent, type OwnStream } from '../overlay/index.js'
import type { Runtime } from '../runtime.js'

/** This client's overlay key pair: the public key the node certifies, and the crypto that signs with it. */
export interface OverlayKeyPair {
  publicKey: Uint8Array
  crypto: OverlayCrypto
}

/** What a channel's overlay needs of the client around it. */
export interface OverlayHost {
  readonly app: string
  readonly uid: string
  /** Sends over the open direct link to `uid`; false when there is none. */
  linkSend(uid: string, bytes: Uint8Array): boolean
  linkOpen(uid: string): boolean
  /** Whether any direct link of this client is open (to anyone, for anything). */
  anyLinkOpen(): boolean
  /** Starts opening a direct link to `uid` (the mesh may refuse: cap, recent failure, links off). */
  linkConnect(uid: string): void
  /** Keeps (or stops keeping) the link to `uid` open while it is an overlay neighbour. */
  holdLink(uid: string, on: boolean): void
  /** Random other members from the node, to link to. */
  candidates(channel: string): Promise<string[]>
  /**
   * The node's clock (ours plus the session's offset): certificates expire by it, and members
   * compare send times with join times by it, so clients whose clocks differ still agree.
   */
  nodeNow(): number
}

/** `clock`'s timers, telling the node's time. */
function nodeClock(clock: Clock, nodeNow: () => number): Clock {
  return {
    now: nodeNow,
    setTimeout: (fn, ms, unref) => clock.setTimeout(fn, ms, unref),
    clearTimeout: (h) => clock.clearTimeout(h),
    setInterval: (fn, ms, unref) => clock.setInterval(fn, ms, unref),
    clearInterval: (h) => clock.clearInterval(h),
  }
}

/** A message the overlay delivered, as the channel hands it on. */
export interface OverlayMessage {
  origin: string
  /** Its place in the origin's stream. */
  stream: string
  seq: number
  kind: MessageKind
  text: string
  bytes: Uint8Array
  description: string
}

/** A message of this member's that reached nobody; `seq` is its seq in this member's overlay stream. */
export type UnlinkedMessage = Omit<OverlayMessage, 'stream'>

/** Frames kept for a member while the link to it opens; past these (or this long) they are given up. */
const MAX_PENDING_FRAMES = 64
const LINK_WAIT_MS = 10_000

interface Pending {
  frames: Uint8Array[]
  timer: TimerHandle
}

/** The node is asked for candidates to link to at most this often (under the 1 s maintenance tick, which would else skip every other ask). */
const CANDIDATES_EVERY_MS = 500

/**
 * A channel's part in its overlay (PROTOCOL.md, "Channel overlay") over the client's direct
 * links: frames for a member without an open link wait while one opens; neighbours' links are
 * held open; a link that closes or never opens is a lost neighbour.
 */
export class ChannelOverlayRunner {
  private readonly overlay: ChannelOverlay
  private readonly pending = new Map<string, Pending>()
  private readonly neighbours = new Set<string>()
  private stopped = false
  /** Links asked for that never opened, since a link last opened (see OverlayMode's give-up). */
  failedLinks = 0
  private askingCandidates = false
  private candidatesAskedAt = -Infinity

  constructor(
    private readonly channel: string,
    private readonly host: OverlayHost,
    private readonly rt: Runtime,
    keys: OverlayKeyPair,
    nodeKey: Uint8Array,
    cert: MemberCert,
    /** Members' messages sent from then on are this overlay's to deliver (node time). */
    readonly joinedAt: number,
    /** This member's stream: its id, and where an earlier overlay of this client left it. */
    private readonly own: OwnStream & { stream: string },
    private readonly deliver: (m: OverlayMessage) => void,
    originAllowed: (origin: string) => boolean,
    pullsOrigin: () => boolean = () => false,
    private readonly onEvent: (e: OverlayEvent) => void = () => undefined,
  ) {
    this.overlay = new ChannelOverlay({
      app: host.app,
      channel,
      self: host.uid,
      clock: nodeClock(rt.clock, () => host.nodeNow()),
      random: () => rt.random(),
      crypto: keys.crypto,
      nodeKey,
      cert,
      send: (peer, bytes) => this.send(peer, bytes),
      deliver: (d) => this.onDelivery(d),
      requestCandidates: () => this.askCandidates(),
      originAllowed,
      pullsOrigin,
      onEvent: (e) => this.onOverlayEvent(e),
      linkOpening: (peer) => this.pending.has(peer),
      joinedAt,
      stream: own.stream,
      resume: own,
    })
  }

  passed(origin: string, stream: string, seq: number): boolean | null {
    return this.overlay.passed(origin, stream, seq)
  }

  skipThrough(origin: string, stream: string, seq: number): void {
    this.overlay.skipThrough(origin, stream, seq)
  }

  /** This member's stream as it stands now (the next overlay of this client goes on from it). */
  get ownStream(): OwnStream & { stream: string } {
    return { stream: this.own.stream, ...this.overlay.ownStream }
  }

  get links(): string[] {
    return this.overlay.links
  }

  start(candidates: string[]): void {
    this.overlay.addCandidates(candidates)
    this.overlay.start()
    this.askCandidates()
  }

  /** Asks `origin` for its overlay messages up to `seq` (see ChannelOverlay.askOrigin). */
  askOrigin(origin: string, stream: string, seq: number): void {
    this.overlay.askOrigin(origin, stream, seq)
  }

  /** Asks `uid` (a member that just joined) to link: see ChannelOverlay.invite. */
  invite(uid: string): void {
    this.overlay.invite(uid)
  }

  /** The channel went back to the full mesh: no more links are sought while it drains (resume() undoes it). */
  drain(): void {
    this.overlay.quiesce()
  }

  resume(): void {
    this.overlay.start()
  }

  stop(): void {
    if (this.stopped) return
    this.overlay.stop()
    this.stopped = true
    for (const p of this.pending.values()) this.rt.clock.clearTimeout(p.timer)
    this.pending.clear()
    for (const uid of this.neighbours) this.host.holdLink(uid, false)
    this.neighbours.clear()
  }

  publish(kind: MessageKind, body: Uint8Array): Promise<number> {
    return Promise.resolve(this.overlay.publish(kind, body))
  }

  /** This member's messages that reached nobody (published while it had no link), oldest first, with their seqs in its stream. */
  takeUnlinked(): UnlinkedMessage[] {
    const out: UnlinkedMessage[] = []
    // Encoded by this member (encodeOverlayBody): decoding cannot fail.
    for (const m of this.overlay.takeUnlinked()) out.push({ origin: this.host.uid, seq: m.seq, kind: m.kind, ...decodeOverlayBody(m.kind, m.body) })
    return out
  }

  /** Overlay frame bytes from `from` over a direct link. */
  receive(from: string, bytes: Uint8Array): void {
    this.overlay.receive(from, bytes)
  }

  renewCert(cert: MemberCert): void {
    this.overlay.renewCert(cert)
  }

  onLinkOpen(uid: string): void {
    const p = this.pending.get(uid)
    if (!p) return
    this.pending.delete(uid)
    this.rt.clock.clearTimeout(p.timer)
    this.failedLinks = 0
    for (const bytes of p.frames) if (!this.host.linkSend(uid, bytes)) return this.lost(uid)
    this.overlay.linkReady(uid)
  }

  /** The link to `uid` closed (or `uid` left the channel). */
  onLinkClosed(uid: string): void {
    this.lost(uid)
  }

  private send(peer: string, bytes: Uint8Array): void {
    if (this.stopped) return
    if (this.host.linkOpen(peer)) {
      if (!this.host.linkSend(peer, bytes)) this.lost(peer)
      return
    }
    let p = this.pending.get(peer)
    if (!p) {
      p = { frames: [], timer: this.rt.clock.setTimeout(() => this.lost(peer), LINK_WAIT_MS, true) }
      this.pending.set(peer, p)
      this.host.linkConnect(peer)
    }
    if (p.frames.length < MAX_PENDING_FRAMES) p.frames.push(bytes)
  }

  private lost(uid: string): void {
    const p = this.pending.get(uid)
    if (p) {
      this.rt.clock.clearTimeout(p.timer)
      this.pending.delete(uid)
      this.failedLinks++
    }
    if (!this.stopped) this.overlay.linkDown(uid)
  }

  private askCandidates(): void {
    // One request at a time, two a second at most: an answer with no member to link to would
    // else be asked again at once (the overlay still lacks links), round trip after round trip.
    const now = this.rt.clock.now()
    if (this.askingCandidates || now - this.candidatesAskedAt < CANDIDATES_EVERY_MS) return
    this.askingCandidates = true
    this.candidatesAskedAt = now
    const done = () => void (this.askingCandidates = false)
    this.host.candidates(this.channel).then(
      (uids) => {
        done()
        if (!this.stopped) this.overlay.addCandidates(uids.filter((u) => u !== this.host.uid))
      },
      done, // asked again at the next shortage
    )
  }

  private onDelivery(d: OverlayDelivery): void {
    let m: { text: string; bytes: Uint8Array; description: string }
    try {
      m = decodeOverlayBody(d.kind, d.body)
    } catch {
      return // signed by a member that encodes badly: nothing for the app
    }
    this.deliver({ origin: d.origin, stream: d.stream, seq: d.seq, kind: d.kind, ...m })
  }

  private onOverlayEvent(e: OverlayEvent): void {
    if (e.type === 'link-up' && !this.neighbours.has(e.peer)) {
      this.neighbours.add(e.peer)
      this.host.holdLink(e.peer, true)
    } else if (e.type === 'link-down' && this.neighbours.delete(e.peer)) this.host.holdLink(e.peer, false)
    this.onEvent(e)
  }
}

/** What a channel's overlay mode needs of its channel and client. */
export interface OverlayModeDeps {
  channel: string
  host: OverlayHost
  rt: Runtime
  /** Members above which the channel's messages go through the overlay. */
  threshold: number
  /** This client's key pair; null when it cannot take part (no Ed25519 in WebCrypto, direct links off). */
  keys(): OverlayKeyPair | null
  /** The node's certifying key; null when the node does not speak protocol 4. */
  nodeKey(): Uint8Array | null
  /** Members this client knows of (first candidates to link to). */
  members(): string[]
  deliver(m: OverlayMessage): void
  originAllowed(origin: string): boolean
  /** Joins again to get a fresh certificate before this one expires. */
  renewCert(): void
  /**
   * No overlay link for LINKLESS_MS: this member moves outside the overlay (joins again without a
   * key); `unsent` are its messages that reached nobody meanwhile, to send through the node.
   */
  goOutside(unsent: UnlinkedMessage[]): void
}

/** Back to the full mesh only this far below the threshold, so that a member coming and going at the edge does not flip the channel. */
const HYSTERESIS = 4
/** The count below the threshold this long before the channel goes back to the full mesh. */
const STOP_AFTER_MS = 15_000
/**
 * After going back to the full mesh, the overlay still takes, delivers, forwards and repairs
 * messages this long (it sends none of its own): members switch at slightly different times, and
 * a message published into the overlay just before its sender switched must still reach those
 * that switched first. As long as a gap is waited for (the overlay's gapGiveUpMs).
 */
const DRAIN_MS = 30_000
/** Origin streams whose skipped overlay messages a channel remembers (see OverlayMode.skipThrough). */
const MAX_COPIED_THROUGH = 4096
/** A certificate is renewed this long before it expires. */
const RENEW_BEFORE_MS = 10 * 60_000
/**
 * An overlay member with no link this long, whose links asked for failed to open at least
 * LINKLESS_FAILURES times meanwhile, and with no direct link open to anyone (its direct links all
 * fail), moves outside the overlay. Slow links (a busy machine, many members joining at once) are
 * not failed ones: the count waits.
 */
export const LINKLESS_MS = 30_000
const LINKLESS_FAILURES = 3
const LINKLESS_CHECK_MS = 2_000
/** Above the threshold, how many of a channel's members on average may ask an origin for a gap (see OverlayConfig.originPullAfterTries). */
const ORIGIN_PULLERS = 8

/**
 * Whether a channel runs its overlay, and the overlay while it does: on above the threshold
 * (or as soon as another member's overlay frame arrives: it counted differently), off again
 * well below it, and never without a certificate from the node.
 */
export class OverlayMode {
  private cert: MemberCert | null = null
  private joinedAt = 0
  /** When the node last answered a join again within this membership (this client's clock): a restarted node's count is low for a while after. */
  private joinedAgainAt = -Infinity
  /**
   * When this member's last overlay stopped (its drain over) while it stayed in the channel; 0:
   * none. The next overlay takes its members' streams from there: what was sent before was the
   * last one's to deliver, so a stream's first message after it starts the stream here — it does
   * not wait (gapGiveUpMs) for messages no cache holds any more.
   */
  private stoppedAt = 0
  private runner: ChannelOverlayRunner | null = null
  /**
   * This client's stream where the last runner left it: the next one goes on with it (after a
   * leave and a join, the full mesh and back), so every member orders all its messages as one stream.
   */
  private own: (OwnStream & { stream: string }) | null = null
  /** The overlay after the channel went back to the full mesh, for DRAIN_MS (see there). */
  private draining: ChannelOverlayRunner | null = null
  /** Per origin stream, the overlay messages skipped because a copy after them went first (see skipThrough). */
  private readonly copiedThrough = new Map<string, number>()
  private drainTimer: TimerHandle | null = null
  /** The node key the runner verifies with. */
  private runnerNodeKey: Uint8Array | null = null
  private renewTimer: TimerHandle | null = null
  private renewFailures = 0
  private count = 0
  /** Members outside the overlay, as the node last told (the highest version wins). */
  private outside = { count: 0, version: -1 }
  /** This member gave the overlay up (no link for LINKLESS_MS): outside until it leaves. */
  private gaveUp = false
  private givingUp: Promise<void> | null = null
  private linklessSince = 0
  private linklessTimer: TimerHandle | null = null
  private stopTimer: TimerHandle | null = null
  /** Publishes being signed: waited for before the messages that reached nobody are taken. */
  private readonly publishing = new Set<Promise<number>>()

  constructor(private readonly deps: OverlayModeDeps) {}

  /** Joins go without an overlay key: this member gave the overlay up. */
  get keyless(): boolean {
    return this.gaveUp
  }

  /** OVERLAY_OUTSIDE: how many members are outside the overlay (they get an overlay message's copy through the node). */
  onOutsideCount(count: number, version: number): void {
    if (version > this.outside.version) this.outside = { count, version }
  }

  get outsideCount(): number {
    return this.outside.count
  }

  get active(): boolean {
    return this.runner !== null
  }

  get links(): string[] {
    return this.runner?.links ?? []
  }

  /**
   * Whether this member's messages go into the overlay: while it runs and has a link (a message
   * would reach nobody until a link came, and be lost if this member left first: without one it
   * sends copies), except far below the threshold (most members just left: the few left may not
   * be linked to each other any more, and the overlay is going back to the full mesh) unless this
   * member joined again lately (a restarted node counts its members again as they come back; see stopSoon).
   */
  get publishes(): boolean {
    if (!this.runner || this.runner.links.length === 0) return false
    return this.count > this.deps.threshold - HYSTERESIS || this.deps.rt.clock.now() - this.joinedAgainAt < STOP_AFTER_MS
  }

  /** From when the running overlay takes its members' streams (node time; null: none runs). */
  get streamsFrom(): number | null {
    return this.runner?.joinedAt ?? null
  }

  /** This client's overlay stream in the channel (null: no overlay ran yet). */
  get ownStreamId(): string | null {
    return (this.runner ?? this.draining)?.ownStream.stream ?? this.own?.stream ?? null
  }

  /** Whether the overlay (running or draining) delivered or skipped `origin`'s message; null: it does not get that stream. */
  passed(origin: string, stream: string, seq: number): boolean | null {
    if ((this.copiedThrough.get(`${origin}\n${stream}`) ?? 0) >= seq) return true
    return (this.runner ?? this.draining)?.passed(origin, stream, seq) ?? null
  }

  /**
   * A copy waits for `origin`'s overlay message `seq`: asks `origin` for it (and what this member
   * lacks before it) — at or below the threshold only, where copies go member by member: above it
   * every member might ask one origin at once (the node's fan-out names the message to all).
   */
  askOrigin(origin: string, stream: string, seq: number): void {
    if (this.count <= this.deps.threshold) (this.runner ?? this.draining)?.askOrigin(origin, stream, seq)
  }

  /**
   * A copy that follows `origin`'s overlay message `seq` goes to the app without it (its wait is
   * over, or no overlay here got that stream): that message and those before it are skipped, now
   * and by any overlay this channel runs later, so a late one is not delivered out of order.
   */
  skipThrough(origin: string, stream: string, seq: number): void {
    const k = `${origin}\n${stream}`
    if ((this.copiedThrough.get(k) ?? 0) >= seq) return
    this.copiedThrough.delete(k)
    this.copiedThrough.set(k, seq)
    if (this.copiedThrough.size > MAX_COPIED_THROUGH) this.copiedThrough.delete(this.copiedThrough.keys().next().value!)
    ;(this.runner ?? this.draining)?.skipThrough(origin, stream, seq)
  }

  /** Joined (again): the node's certificate for our key, if it gave one. */
  joined(cert: MemberCert | undefined, count: number): void {
    // Joined again within one membership: the session came back (the node may have restarted), or a renewal.
    if (this.joinedAt === 0) this.joinedAt = this.deps.host.nodeNow()
    else this.joinedAgainAt = this.deps.rt.clock.now()
    if (cert) {
      this.cert = cert
      this.renewFailures = 0
      this.runner?.renewCert(cert)
      this.scheduleRenewal()
    }
    // Another node key (the app's secret rotated): the overlay starts again with it.
    const nodeKey = this.deps.nodeKey()
    if ((this.runner || this.draining) && (!nodeKey || !sameBytes(nodeKey, this.runnerNodeKey!))) {
      this.stopRunner()
      // Not resumed under the old key either.
      this.stopDraining()
    }
    this.update(count)
  }

  /** Renewing the certificate failed: try again soon (with backoff), while it is still valid. */
  renewFailed(): void {
    this.renewFailures++
    this.scheduleRenewal()
  }

  update(count: number): void {
    this.count = count
    if (this.renewTimer === null && this.cert && count > this.deps.threshold - HYSTERESIS) this.scheduleRenewal()
    if (!this.runner && count > this.deps.threshold) this.start()
    else if (this.runner && count <= this.deps.threshold - HYSTERESIS) this.stopSoon()
    else this.keepRunning()
  }

  /**
   * Back to the full mesh if the count stays low for STOP_AFTER_MS: a restarted node counts its
   * members again as they come back, and the overlay's links (which did not go down) carry on meanwhile.
   */
  private stopSoon(): void {
    if (this.stopTimer !== null) return
    this.stopTimer = this.deps.rt.clock.setTimeout(
      () => {
        this.stopTimer = null
        if (this.runner && this.count <= this.deps.threshold - HYSTERESIS) this.drainRunner()
      },
      STOP_AFTER_MS,
      true,
    )
  }

  private keepRunning(): void {
    this.deps.rt.clock.clearTimeout(this.stopTimer)
    this.stopTimer = null
  }

  publish(kind: MessageKind, body: Uint8Array): Promise<number> {
    const p = this.runner!.publish(kind, body)
    this.publishing.add(p)
    const done = () => void this.publishing.delete(p)
    p.then(done, done)
    return p
  }

  /**
   * A member joined. At or below the threshold it cannot tell that the overlay runs (the count
   * does not say which side of the hysteresis the channel is on, nor whether it is about to go
   * back to the full mesh), so a running overlay asks it to link: its overlay starts on that.
   */
  memberJoined(uid: string): void {
    if (this.runner && this.count <= this.deps.threshold) this.runner.invite(uid)
  }

  /** An overlay frame from a member over a direct link. */
  onFrame(from: string, bytes: Uint8Array): void {
    if (!this.runner && !this.draining) {
      // A member that counts a little differently (a member event on its way) already runs it.
      if (this.count > this.deps.threshold - HYSTERESIS) this.start()
      // Far below the threshold the channel is going back to the full mesh: this member (one that
      // just joined, asked to link) only takes the overlay's last messages — it drains (DRAIN_MS)
      // and sends its own as copies, as the others soon will.
      else {
        this.start()
        this.drainRunner()
      }
    } else if (!this.runner && this.count > this.deps.threshold - HYSTERESIS) this.start()
    ;(this.runner ?? this.draining)?.receive(from, bytes)
  }

  onLinkOpen(uid: string): void {
    ;(this.runner ?? this.draining)?.onLinkOpen(uid)
  }

  onLinkClosed(uid: string): void {
    ;(this.runner ?? this.draining)?.onLinkClosed(uid)
  }

  /** Left the channel (or the client reset): everything goes. */
  stop(): void {
    this.stopRunner()
    this.stopDraining()
    this.deps.rt.clock.clearTimeout(this.renewTimer)
    this.renewTimer = null
    this.cert = null
    this.joinedAt = 0
    this.joinedAgainAt = -Infinity
    this.stoppedAt = 0
    this.count = 0
    this.renewFailures = 0
    this.outside = { count: 0, version: -1 }
    this.gaveUp = false
  }

  private start(): void {
    if (this.gaveUp) return
    // Back above the threshold while the overlay drains: it runs again as it was.
    if (this.draining) {
      this.runner = this.draining
      this.draining = null
      this.runner.resume()
      this.deps.rt.clock.clearTimeout(this.drainTimer)
      this.drainTimer = null
      this.linklessSince = 0
      this.linklessTimer = this.deps.rt.clock.setInterval(() => this.checkLinks(), LINKLESS_CHECK_MS, true)
      return
    }
    const keys = this.deps.keys()
    const nodeKey = this.deps.nodeKey()
    if (!keys || !nodeKey || !this.cert || this.joinedAt === 0) return
    if (this.cert.expiry <= this.deps.host.nodeNow()) return this.deps.renewCert()
    // Mutes and membership are checked again at delivery: a message may wait (a gap, a signature check) while they change.
    const deliver = (m: OverlayMessage) => {
      if (this.deps.originAllowed(m.origin)) this.deps.deliver(m)
    }
    const own = this.own ?? { stream: this.deps.rt.randomId(), seq: 0, lastSentTs: 0 }
    const from = Math.max(this.joinedAt, this.stoppedAt)
    // A gap its neighbours cannot fill is asked of its origin by every member at or below the
    // threshold, above it by ORIGIN_PULLERS of the members on average (each missing member asks
    // with that chance): those that get it fill their neighbours' gaps in turn.
    const pullsOrigin = () => this.count <= this.deps.threshold || this.deps.rt.random() * this.count < ORIGIN_PULLERS
    this.runner = new ChannelOverlayRunner(this.deps.channel, this.deps.host, this.deps.rt, keys, nodeKey, this.cert, from, own, deliver, this.deps.originAllowed, pullsOrigin)
    for (const [k, seq] of this.copiedThrough) {
      const [origin, stream] = k.split('\n') as [string, string]
      this.runner.skipThrough(origin, stream, seq)
    }
    this.runnerNodeKey = nodeKey
    this.runner.start(this.deps.members())
    this.linklessSince = 0
    this.linklessTimer = this.deps.rt.clock.setInterval(() => this.checkLinks(), LINKLESS_CHECK_MS, true)
  }

  /** Back to the full mesh: messages go as copies per member from now on; the overlay drains (DRAIN_MS). */
  private drainRunner(): void {
    const runner = this.runner
    if (!runner) return
    this.runner = null
    this.keepRunning()
    this.deps.rt.clock.clearInterval(this.linklessTimer)
    this.linklessTimer = null
    this.stopDraining()
    this.draining = runner
    runner.drain()
    this.drainTimer = this.deps.rt.clock.setTimeout(() => this.stopDraining(), DRAIN_MS, true)
  }

  private stopDraining(): void {
    this.deps.rt.clock.clearTimeout(this.drainTimer)
    this.drainTimer = null
    if (this.draining) {
      this.own = this.draining.ownStream
      this.stoppedAt = this.deps.host.nodeNow()
    }
    this.draining?.stop()
    this.draining = null
  }

  private stopRunner(): void {
    this.keepRunning()
    if (this.runner) {
      this.own = this.runner.ownStream
      this.stoppedAt = this.deps.host.nodeNow()
    }
    this.runner?.stop()
    this.runner = null
    this.deps.rt.clock.clearInterval(this.linklessTimer)
    this.linklessTimer = null
  }

  /** No link for LINKLESS_MS (direct links to the members all fail): outside the overlay, through the node. */
  private checkLinks(): void {
    if (!this.runner || this.runner.links.length > 0) {
      this.linklessSince = 0
      return
    }
    const now = this.deps.rt.clock.now()
    if (this.linklessSince === 0) this.linklessSince = now
    // With any direct link open WebRTC works here: the overlay's links are slow, not impossible.
    else if (now - this.linklessSince >= LINKLESS_MS && this.runner.failedLinks >= LINKLESS_FAILURES && !this.deps.host.anyLinkOpen()) this.giveUp()
  }

  private giveUp(): void {
    const runner = this.runner!
    if (this.gaveUp) return
    this.gaveUp = true
    // Messages being signed go into the overlay first (to nobody: they are among those taken
    // below); a runner stopped under them would refuse them. New ones wait for `settling`.
    this.givingUp = Promise.allSettled([...this.publishing]).then(() => {
      this.givingUp = null
      if (this.runner === runner) this.stopRunner()
      // Left meanwhile: nothing to send.
      if (this.gaveUp) this.deps.goOutside(runner.takeUnlinked())
    })
  }

  /** This member's overlay messages that reached nobody (it had no link yet), oldest first: a member leaving sends them through the node. */
  takeUnlinked(): UnlinkedMessage[] {
    return (this.runner ?? this.draining)?.takeUnlinked() ?? []
  }

  /** Until the messages being signed now have gone out (or failed): a member leaving lets them go first. */
  async flushPublishing(): Promise<void> {
    await Promise.allSettled([...this.publishing])
  }

  /** While this member moves outside: its messages that reached nobody are not sent yet (later ones wait for them). */
  get settling(): Promise<void> | null {
    return this.givingUp
  }

  /**
   * Renews RENEW_BEFORE_MS before the certificate expires (node time), and only while the
   * overlay runs or could start soon: a small channel is not asked to join again every hour.
   * After a failure: again 5 s later, doubling, up to a minute.
   */
  private scheduleRenewal(): void {
    const clock = this.deps.rt.clock
    clock.clearTimeout(this.renewTimer)
    this.renewTimer = null
    if (!this.cert) return
    const due = this.renewFailures > 0 ? Math.min(60_000, 5000 * 2 ** (this.renewFailures - 1)) : this.cert.expiry - RENEW_BEFORE_MS - this.deps.host.nodeNow()
    this.renewTimer = clock.setTimeout(
      () => {
        this.renewTimer = null
        // Not needed now: armed again when the channel nears the threshold (update).
        if (this.runner || this.count > this.deps.threshold - HYSTERESIS) this.deps.renewCert()
      },
      Math.max(1000, due),
      true,
    )
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
