import {
  LinkFeature,
  LinkFrameType,
  MAX_LINK_BATCH_BYTES,
  MAX_LINK_BATCH_FRAMES,
  decodeLinkBatch,
  decodeLinkHello,
  deferOn,
  encodeLinkBatch,
  encodeLinkBye,
  encodeLinkHello,
  type TimerHandle,
} from '@plaza/protocol'
import { Emitter } from '../emitter.js'
import type { Runtime } from '../runtime.js'
import type { CreateLink, PeerLink } from './link.js'
import { LinkBackoff } from './link-backoff.js'
import { createNativeLink } from './native-link.js'

export interface MeshOptions {
  /** WebRTC implementation for Node (`@roamhq/wrtc`); the browser's own when absent. */
  wrtc?: object
  /** RTCPeerConnection configuration (ICE servers, transport policy). */
  rtcConfig?: RTCConfiguration
  /** Most links open at once; past it the least recently used idle link is closed. Default 32. */
  maxLinks: number
  /** A link with no traffic this long is closed. Default 60 s. */
  idleTimeoutMs: number
  /** A link not open within this time has failed. Default 15 s. */
  connectTimeoutMs: number
  /** After a failure, no new attempt to that user for this long, doubling up to 2 min. Default 5 s. */
  retryAfterFailureMs: number
  /** An open link whose ICE stays disconnected this long is dropped (the peer is likely gone). Default 3 s. */
  disconnectedGraceMs?: number
  /** Makes links; `createNativeLink` by default. */
  createLink?: CreateLink
}

type LinkState = 'connecting' | 'open'

/**
 * The data channel buffer above which we stop sending (wrtc drops silently past ~16 MiB): above
 * a peer's window of unacknowledged messages over a link (4 MiB of bodies, plus their headers),
 * so that the window, not this cap, is what holds a bulk transfer back.
 */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024
/** After BYE, how long the far end has to close the link before this end does. */
const BYE_WAIT_MS = 1000

interface Link {
  uid: string
  linkId: string
  initiator: boolean
  peer: PeerLink
  state: LinkState
  lastActive: number
  connectTimer: TimerHandle | null
  /** Set while ICE reports "disconnected" on an open link. */
  disconnectedTimer: TimerHandle | null
  /**
   * An upper bound of the bytes queued in the data channel: its last reading plus what was sent
   * since (the queue only drains meanwhile). Reading it from WebRTC costs a native call per
   * message (~15% of a bulk transfer's CPU), so it is read again only when the bound nears the cap.
   */
  bufferedBound: number
  /** The other end said (HELLO) it takes BATCH frames. */
  batches: boolean
  /** Its HELLO came. */
  hello: boolean
  /** Something went out on this link in this turn: what follows waits in `out` for the turn's end. */
  busy: boolean
  out: Uint8Array[]
  outBytes: number
}

type MeshEvents = {
  open: [uid: string]
  close: [uid: string]
  data: [uid: string, bytes: Uint8Array]
}


/**
 * One WebRTC link per remote user, shared by peer messages and (later) every channel.
 * Links are made on demand, closed when idle, capped in number; simultaneous offers are
 * settled by uid order (the smaller uid's offer wins).
 */
export class Mesh extends Emitter<MeshEvents> {
  private readonly links = new Map<string, Link>()
  /** Users whose links something keeps open (a channel overlay's neighbours), with how many holders. */
  private readonly held = new Map<string, number>()
  private readonly backoff: LinkBackoff
  private idleTimer: TimerHandle | null = null
  /** Links that sent in this turn (their `out` goes at its end). */
  private busyLinks: Link[] = []
  private flushScheduled = false
  private closed = false
  /** No link is made or taken before this (closeLinks). */
  private pausedUntil = 0
  private readonly createLink: CreateLink

  constructor(
    private readonly self: () => string,
    private readonly sendSignal: (to: string, data: string) => boolean,
    private readonly opts: MeshOptions,
    private readonly rt: Runtime,
  ) {
    super()
    this.createLink = opts.createLink ?? createNativeLink
    this.backoff = new LinkBackoff(opts.retryAfterFailureMs)
  }

  isOpen(uid: string): boolean {
    return this.links.get(uid)?.state === 'open'
  }

  /** Whether any direct link is open (WebRTC works here, whoever it is with). */
  anyOpen(): boolean {
    for (const l of this.links.values()) if (l.state === 'open') return true
    return false
  }

  linkState(uid: string): LinkState | 'none' {
    return this.links.get(uid)?.state ?? 'none'
  }

  /**
   * Sends over the open link; false when there is none or its buffer is full. To a peer that takes
   * batches, the first frame of a turn goes at once and the rest of the turn's frames go together
   * at its end (one data channel message each up to 64 KiB), in the order they were given.
   */
  send(uid: string, bytes: Uint8Array): boolean {
    const link = this.links.get(uid)
    if (!link || link.state !== 'open') return false
    if (link.bufferedBound + bytes.length > MAX_BUFFERED_BYTES) {
      link.bufferedBound = link.peer.bufferSize + link.outBytes
      if (link.bufferedBound + bytes.length > MAX_BUFFERED_BYTES) return false
    }
    link.bufferedBound += bytes.length
    link.lastActive = this.rt.clock.now()
    if (!link.batches) return this.write(link, bytes)
    if (!link.busy) {
      link.busy = true
      this.atTurnEnd(link)
      return this.write(link, bytes)
    }
    if (link.outBytes + bytes.length > MAX_LINK_BATCH_BYTES || link.out.length >= MAX_LINK_BATCH_FRAMES) {
      if (!this.flush(link)) return false
    }
    if (bytes.length > MAX_LINK_BATCH_BYTES) return this.write(link, bytes)
    link.out.push(bytes)
    link.outBytes += bytes.length
    return true
  }

  private write(link: Link, bytes: Uint8Array): boolean {
    try {
      link.peer.send(bytes)
      return true
    } catch {
      this.drop(link, true)
      return false
    }
  }

  /** What waits in `out` goes: alone, or as one BATCH. False when the link failed. */
  private flush(link: Link): boolean {
    const out = link.out
    if (out.length === 0) return true
    const bytes = out.length === 1 ? out[0]! : encodeLinkBatch(out, link.outBytes)
    link.out = []
    link.outBytes = 0
    return this.write(link, bytes)
  }

  private atTurnEnd(link: Link): void {
    this.busyLinks.push(link)
    if (this.flushScheduled) return
    this.flushScheduled = true
    deferOn(this.rt, () => {
      this.flushScheduled = false
      const links = this.busyLinks
      this.busyLinks = []
      for (const l of links) {
        l.busy = false
        if (this.links.get(l.uid) === l) this.flush(l)
      }
    })
  }

  /** A link frame (HELLO, BATCH) from the other end; false for any other frame. */
  private onLinkFrame(link: Link, data: Uint8Array): boolean {
    const type = data[0]
    if (type === LinkFrameType.HELLO) {
      // Only the first counts: a later one turning batches off would let a frame overtake those waiting.
      if (link.hello) return true
      link.hello = true
      try {
        link.batches = (decodeLinkHello(data) & LinkFeature.BATCH) !== 0
      } catch {
        /* malformed: ignored, as any frame we cannot read */
      }
      return true
    }
    if (type === LinkFrameType.BYE) {
      // The far end sends nothing more: this end closes the link, so the close is never the far end's.
      this.backoff.saidBye(link.uid, this.rt.clock.now())
      this.drop(link, false)
      return true
    }
    if (type !== LinkFrameType.BATCH) return false
    let frames: Uint8Array[]
    try {
      frames = decodeLinkBatch(data)
    } catch {
      return true
    }
    for (const f of frames) {
      if (this.links.get(link.uid) !== link) break
      this.emit('data', link.uid, f)
    }
    return true
  }

  /** Keeps the link to `uid` (when there is one) from closing for idleness or to make room, until released. */
  hold(uid: string): void {
    this.held.set(uid, (this.held.get(uid) ?? 0) + 1)
  }

  release(uid: string): void {
    const n = (this.held.get(uid) ?? 0) - 1
    if (n > 0) this.held.set(uid, n)
    else this.held.delete(uid)
  }

  /** Starts building a link to `uid` unless one exists, it failed recently, or the cap is reached. */
  connect(uid: string): void {
    if (this.closed || this.links.has(uid) || uid === this.self()) return
    const now = this.rt.clock.now()
    if (now < this.pausedUntil || !this.backoff.mayConnect(uid, now)) return
    if (!this.makeRoom()) return
    this.create(uid, this.rt.randomId(), true)
  }

  /** A signal from `from`, relayed by the rendezvous. */
  onSignal(from: string, data: string): void {
    if (this.closed) return
    let msg: { l?: unknown; s?: unknown }
    try {
      msg = JSON.parse(data)
    } catch {
      return
    }
    if (typeof msg !== 'object' || msg === null || typeof msg.l !== 'string' || typeof msg.s !== 'object' || msg.s === null) {
      return
    }
    const signal = msg.s as { type?: string }
    const link = this.links.get(from)
    if (link && link.linkId === msg.l) {
      this.feed(link, signal)
      return
    }
    // A new link id: only an offer starts a link; other signals belong to a link we dropped.
    if (signal.type !== 'offer') return
    const now = this.rt.clock.now()
    if (now < this.pausedUntil || !this.backoff.mayAccept(from, now)) return
    if (link) {
      // Glare: both sides offered at once. The smaller uid's offer wins on both sides.
      if (link.state === 'connecting' && link.initiator && this.self() < from) return
      this.drop(link, false)
    } else if (!this.makeRoom()) return
    this.backoff.reachable(from)
    this.feed(this.create(from, msg.l, false), signal)
  }

  /** The rendezvous could not deliver our signal: the user is offline. */
  onSignalFailed(uid: string): void {
    const link = this.links.get(uid)
    if (link && link.state === 'connecting') this.drop(link, true)
  }

  /** Closes one link (e.g. its user logged out). */
  disconnect(uid: string): void {
    const link = this.links.get(uid)
    if (link) this.drop(link, false, true)
  }

  close(): void {
    this.closed = true
    this.rt.clock.clearInterval(this.idleTimer)
    this.idleTimer = null
    this.closeLinks()
    this.backoff.clearFailures()
  }

  /**
   * Closes every link, with BYE, and makes or takes no new one for `pauseMs` (a page going away:
   * a link made in its last moments would be closed under the far end with no BYE).
   */
  closeLinks(pauseMs = 0): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.rt.clock.now() + pauseMs)
    for (const link of [...this.links.values()]) this.drop(link, false, true)
  }

  /** Re-opens a mesh closed by logout, for the next login. */
  reset(): void {
    this.close()
    this.closed = false
  }

  private feed(link: Link, signal: object): void {
    try {
      link.peer.signal(signal)
    } catch {
      this.drop(link, true)
    }
  }

  private create(uid: string, linkId: string, initiator: boolean): Link {
    const clock = this.rt.clock
    const peer = this.createLink({ initiator, wrtc: this.opts.wrtc, rtcConfig: this.opts.rtcConfig })
    const link: Link = { uid, linkId, initiator, peer, state: 'connecting', lastActive: clock.now(), connectTimer: null, disconnectedTimer: null, bufferedBound: 0, batches: false, hello: false, busy: false, out: [], outBytes: 0 }
    this.links.set(uid, link)
    link.connectTimer = clock.setTimeout(() => this.drop(link, true), this.opts.connectTimeoutMs)
    peer.on('signal', (signal: object) => {
      if (this.links.get(uid) !== link) return
      if (!this.sendSignal(uid, JSON.stringify({ l: linkId, s: signal }))) this.drop(link, true)
    })
    peer.on('connect', () => {
      if (this.links.get(uid) !== link) return
      clock.clearTimeout(link.connectTimer)
      link.connectTimer = null
      // What this end takes (an end that does not know HELLO ignores it, and never batches to us).
      if (!this.write(link, encodeLinkHello(LinkFeature.BATCH))) return
      link.state = 'open'
      link.lastActive = clock.now()
      this.backoff.reachable(uid)
      this.startIdleTimer()
      this.emit('open', uid)
    })
    peer.on('data', (data: Uint8Array) => {
      if (this.links.get(uid) !== link) return
      link.lastActive = clock.now()
      if (!this.onLinkFrame(link, data)) this.emit('data', uid, data)
    })
    // simple-peer only gives up on ICE "failed" (~30 s after a peer vanishes); a link that stays
    // "disconnected" for a few seconds is as good as dead, and the relay is right there.
    peer.on('iceStateChange', (state: string) => {
      if (this.links.get(uid) !== link || link.state !== 'open') return
      if (state === 'disconnected' && !link.disconnectedTimer) {
        link.disconnectedTimer = clock.setTimeout(() => this.drop(link, false), this.opts.disconnectedGraceMs ?? 3000)
      } else if (state === 'connected' || state === 'completed') {
        clock.clearTimeout(link.disconnectedTimer)
        link.disconnectedTimer = null
      }
    })
    // Closed under us, with no BYE: by the far end, or the path failed (ours would have been taken
    // out of `links` first).
    const lost = () => {
      if (this.links.get(uid) !== link) return
      if (link.state === 'open') this.backoff.closedAbruptly(uid, clock.now())
      this.drop(link, link.state === 'connecting')
    }
    peer.on('close', lost)
    peer.on('error', lost)
    return link
  }

  /**
   * Takes the link out. With `bye` (this end's own choice, the link open), what waits goes, then
   * BYE, and the far end closes the link — at once, as it got BYE after everything before it — or
   * this end does after BYE_WAIT_MS. Either way the end that sees the other close it has stopped
   * sending on it: a far end's close while this end sends is what can crash @roamhq/wrtc
   * (LinkBackoff).
   */
  private drop(link: Link, failed: boolean, bye = false): void {
    if (this.links.get(link.uid) !== link) return
    const wasOpen = link.state === 'open'
    // Not only to an end that said HELLO: its HELLO may still be on its way (an older client
    // ignores BYE, an unknown frame, and this end closes the link after BYE_WAIT_MS).
    const byeSent = bye && wasOpen && this.flush(link) && this.write(link, encodeLinkBye())
    // A failed write dropped the link already.
    if (this.links.get(link.uid) !== link) return
    this.links.delete(link.uid)
    this.rt.clock.clearTimeout(link.connectTimer)
    this.rt.clock.clearTimeout(link.disconnectedTimer)
    const destroy = () => {
      try {
        link.peer.destroy()
      } catch {
        /* already destroyed */
      }
    }
    // Unref'd: never what keeps a Node process alive (if it exits, the far end sees the link go silent).
    if (byeSent) this.rt.clock.setTimeout(destroy, BYE_WAIT_MS, true)
    else destroy()
    if (failed && !wasOpen) this.backoff.failed(link.uid, this.rt.clock.now())
    if (wasOpen) this.emit('close', link.uid)
  }

  /** Below the cap, or made so by closing the least recently used link idle for 5 s. */
  private makeRoom(): boolean {
    if (this.links.size < this.opts.maxLinks) return true
    let lru: Link | null = null
    for (const l of this.links.values()) if (l.state === 'open' && !this.held.has(l.uid) && (!lru || l.lastActive < lru.lastActive)) lru = l
    if (!lru || this.rt.clock.now() - lru.lastActive < 5000) return false
    this.drop(lru, false, true)
    return true
  }

  private startIdleTimer(): void {
    if (this.idleTimer) return
    this.idleTimer = this.rt.clock.setInterval(
      () => {
        const now = this.rt.clock.now()
        for (const l of [...this.links.values()]) {
          if (l.state === 'open' && now - l.lastActive > this.opts.idleTimeoutMs && !this.held.has(l.uid)) this.drop(l, false, true)
        }
        if (this.links.size === 0 && this.idleTimer) {
          this.rt.clock.clearInterval(this.idleTimer)
          this.idleTimer = null
        }
      },
      Math.min(5000, this.opts.idleTimeoutMs),
    )
  }
}
