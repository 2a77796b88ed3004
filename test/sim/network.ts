/**
 * The simulation's network: client↔node WebSockets and client↔client data channels, in memory,
 * each an ordered pipe with latency that a fault can cut. The code on both ends is the real
 * client and node; only the wire is a stand-in.
 */
import type { CreateLink, PeerLink, WebSocketLike } from '@plaza/client'
import type { Connection, ConnectionHandler } from '@plaza/rendezvous'
import type { Prng } from './prng.js'
import type { Domain, Scheduler } from './scheduler.js'

export interface NetOptions {
  /** One-way latency of a WebSocket, ms. */
  wsLatency: [number, number]
  /** One-way latency of a data channel, ms. */
  linkLatency: [number, number]
  /** Direct links drop, duplicate and reorder now and then (stresses retransmission and de-duplication). */
  lossyLinks: boolean
}

/** What the network needs of the node that is up now (null while it is down). */
export interface NodeEnd {
  domain: Domain
  accept(conn: Connection): ConnectionHandler
}

type Handlers = Record<string, ((...args: never[]) => void)[]>

/** One direction of a connection: FIFO, with latency, until cut. */
class Pipe {
  private last = 0
  constructor(
    private readonly net: SimNetwork,
    private readonly latency: [number, number],
  ) {}
  send(domain: Domain, fn: () => void, jitter = false): void {
    const s = this.net.sched
    const delay = this.net.prng.int(this.latency[0], this.latency[1])
    // Ordered: never before what went earlier (unless jitter, for lossy links).
    const at = jitter ? s.now + delay : Math.max(s.now + delay, this.last)
    this.last = at
    s.at(domain, at - s.now, fn)
  }
}

const CONNECTING = 0
const OPEN = 1
const CLOSED = 3

/** A client's WebSocket to the node and the node's side of it. */
class WsPair {
  readonly toNode: Pipe
  readonly toClient: Pipe
  handler: ConnectionHandler | null = null
  nodeDomain: Domain | null = null
  /** Bytes no longer flow (a cut or a black hole): nothing sent is delivered. */
  cut = false
  serverOpen = false
  readonly client: SimWebSocket
  readonly server: Connection

  constructor(
    readonly net: SimNetwork,
    readonly user: SimUserNet,
    client: SimWebSocket,
  ) {
    this.client = client
    this.toNode = new Pipe(net, net.opts.wsLatency)
    this.toClient = new Pipe(net, net.opts.wsLatency)
    const pair = this
    this.server = {
      get open() {
        return pair.serverOpen
      },
      bufferedAmount: 0,
      remoteAddress: `sim:${user.uid}`,
      send: (frame) => {
        if (!pair.serverOpen || pair.cut) return
        const copy = Uint8Array.from(frame)
        pair.toClient.send(user.domain, () => {
          if (pair.client.readyState !== OPEN) return
          net.frameHook?.(user.uid, copy, false)
          pair.client.onmessage?.({ data: copy })
        })
      },
      close: (code, reason) => pair.serverClose(code, reason),
      terminate: () => pair.serverClose(1006, ''),
    }
  }

  /** The node closes: the client hears it (unless the wire is cut), the node's own close event follows. */
  serverClose(code: number, reason: string): void {
    if (!this.serverOpen) return
    this.serverOpen = false
    if (this.nodeDomain) this.net.sched.at(this.nodeDomain, 1, () => this.handler?.onClose())
    if (!this.cut) this.toClient.send(this.user.domain, () => this.client.closed(code, reason))
  }

  /** The client closes (or its page is gone): the node hears it unless the wire is cut. */
  clientClose(): void {
    if (this.cut || !this.serverOpen || !this.nodeDomain) return
    this.toNode.send(this.nodeDomain, () => {
      if (!this.serverOpen) return
      this.serverOpen = false
      this.handler?.onClose()
    })
  }

  /** The wire breaks: `notify` tells each side at once (a reset), else nobody hears (a black hole). */
  breakWire(notify: boolean): void {
    if (this.cut) return
    this.cut = true
    if (!notify) return
    if (this.serverOpen && this.nodeDomain) {
      this.serverOpen = false
      this.net.sched.at(this.nodeDomain, this.net.prng.int(1, 20), () => this.handler?.onClose())
    }
    this.net.sched.at(this.user.domain, this.net.prng.int(1, 20), () => this.client.closed(1006, 'reset'))
  }
}

/** The WebSocket the client code sees. */
class SimWebSocket implements WebSocketLike {
  binaryType = 'arraybuffer'
  readyState = CONNECTING
  onopen: ((ev: unknown) => void) | null = null
  onclose: ((ev: { code: number; reason: string }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  readonly pair: WsPair

  constructor(
    net: SimNetwork,
    private readonly user: SimUserNet,
  ) {
    this.pair = new WsPair(net, user, this)
    user.sockets.add(this.pair)
    const node = net.node()
    if (user.blocked === 'blackhole') {
      this.pair.cut = true // the handshake never completes
      return
    }
    if (!node || user.blocked === 'reset') {
      net.sched.at(user.domain, net.prng.int(1, 10), () => this.closed(1006, 'refused'))
      return
    }
    // The handshake: the node accepts at once, the client hears "open" one latency later.
    this.pair.toNode.send(node.domain, () => {
      if (this.pair.cut || net.node() !== node) return
      this.pair.nodeDomain = node.domain
      this.pair.serverOpen = true
      this.pair.handler = node.accept(this.pair.server)
      this.pair.toClient.send(user.domain, () => {
        if (this.readyState !== CONNECTING) return
        this.readyState = OPEN
        this.onopen?.({})
      })
    })
  }

  send(data: Uint8Array): void {
    if (this.readyState !== OPEN || this.pair.cut || !this.pair.nodeDomain) return
    const copy = Uint8Array.from(data)
    const pair = this.pair
    pair.toNode.send(pair.nodeDomain!, () => {
      if (!pair.serverOpen || pair.cut) return
      pair.net.frameHook?.(this.user.uid, copy, true)
      pair.handler?.onMessage(copy, true)
    })
  }

  close(): void {
    if (this.readyState === CLOSED) return
    this.readyState = CLOSED
    this.pair.clientClose()
    this.user.sockets.delete(this.pair)
  }

  /** The connection ended from the other side or the network. */
  closed(code: number, reason: string): void {
    if (this.readyState === CLOSED) return
    this.readyState = CLOSED
    this.user.sockets.delete(this.pair)
    this.onclose?.({ code, reason })
  }
}

/** One end of a direct link: what the mesh sees in place of simple-peer. */
class SimLink implements PeerLink {
  readonly id: string
  peer: SimLink | null = null
  connected = false
  destroyed = false
  bufferSize = 0
  private readonly handlers: Handlers = {}
  private readonly out: Pipe

  constructor(
    private readonly net: SimNetwork,
    readonly user: SimUserNet,
    initiator: boolean,
  ) {
    this.id = net.prng.id()
    net.links.set(this.id, this)
    user.links.add(this)
    this.out = new Pipe(net, net.opts.linkLatency)
    if (initiator) this.later(() => this.emit('signal', { type: 'offer', sdp: this.id }))
  }

  on(event: string, fn: (...args: never[]) => void): this {
    ;(this.handlers[event] ??= []).push(fn)
    return this
  }

  signal(data: object): void {
    const d = data as { type?: string; sdp?: string }
    if (this.destroyed || typeof d.sdp !== 'string') return
    const other = this.net.links.get(d.sdp)
    if (!other || other.destroyed || !other.user.alive()) return
    if (d.type === 'offer') {
      this.peer = other
      this.later(() => this.emit('signal', { type: 'answer', sdp: this.id }))
    } else if (d.type === 'answer' && other.peer === this) {
      this.peer = other
      // ICE and DTLS: both ends connect a couple of round trips later, if the path allows.
      if (!this.net.linkAllowed(this.user.uid, other.user.uid)) return
      const rtt = 2 * this.net.prng.int(this.net.opts.linkLatency[0], this.net.opts.linkLatency[1])
      for (const end of [this, other]) end.net.sched.at(end.user.domain, rtt, () => end.open())
    }
  }

  private open(): void {
    if (this.destroyed || this.connected || !this.peer || this.peer.destroyed) return
    this.connected = true
    this.emit('connect')
  }

  send(bytes: Uint8Array): void {
    const peer = this.peer
    if (!this.connected || !peer || this.destroyed || this.user.cutLinks) return
    const copy = Uint8Array.from(bytes)
    const prng = this.net.prng
    const lossy = this.net.opts.lossyLinks
    if (lossy && prng.chance(0.03)) return
    const times = lossy && prng.chance(0.02) ? 2 : 1
    for (let i = 0; i < times; i++) {
      this.out.send(
        peer.user.domain,
        () => {
          if (peer.connected && !peer.destroyed && !this.destroyed && !peer.user.cutLinks) peer.emit('data', copy)
        },
        lossy && prng.chance(0.05),
      )
    }
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.connected = false
    this.net.links.delete(this.id)
    this.user.links.delete(this)
    const peer = this.peer
    if (peer && !peer.destroyed) this.net.sched.at(peer.user.domain, this.net.prng.int(1, 30), () => peer.remoteGone())
  }

  /** The other end closed its data channel. */
  remoteGone(): void {
    if (this.destroyed) return
    this.emit('close')
  }

  /** The path broke (ICE disconnected): data stops; it may come back. */
  iceState(state: 'disconnected' | 'connected'): void {
    if (!this.destroyed && this.connected) this.emit('iceStateChange', state)
  }

  private later(fn: () => void): void {
    this.net.sched.at(this.user.domain, 1, () => {
      if (!this.destroyed) fn()
    })
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const fn of [...(this.handlers[event] ?? [])]) (fn as (...a: unknown[]) => void)(...args)
  }
}

/** A client page's place on the network. */
export class SimUserNet {
  readonly sockets = new Set<WsPair>()
  readonly links = new Set<SimLink>()
  /** New WebSockets hang (black hole) or are refused (reset). */
  blocked: 'blackhole' | 'reset' | null = null
  /** Direct links carry nothing for now (ICE disconnected). */
  cutLinks = false

  constructor(
    readonly net: SimNetwork,
    readonly uid: string,
    readonly domain: Domain,
  ) {}

  alive(): boolean {
    return !this.domain.dead
  }

  WebSocket(): new (url: string) => WebSocketLike {
    const user = this
    return class {
      constructor() {
        return new SimWebSocket(user.net, user)
      }
    } as unknown as new (url: string) => WebSocketLike
  }

  createLink(): CreateLink {
    return (opts) => new SimLink(this.net, this, opts.initiator)
  }

  /** The WebSocket breaks: `reset` both ends hear it; `blackhole` nobody does (liveness must notice). */
  breakSockets(mode: 'reset' | 'blackhole'): void {
    this.blocked = mode
    for (const pair of [...this.sockets]) pair.breakWire(mode === 'reset')
  }

  healSockets(): void {
    this.blocked = null
  }

  /** The page's links lose their path: both ends see ICE disconnected. */
  breakLinks(): void {
    this.cutLinks = true
    for (const l of this.links) {
      l.iceState('disconnected')
      const peer = l.peer
      if (peer && peer.user.alive()) this.net.sched.at(peer.user.domain, 5, () => peer.iceState('disconnected'))
    }
  }

  healLinks(): void {
    this.cutLinks = false
    for (const l of this.links) {
      l.iceState('connected')
      const peer = l.peer
      if (peer && peer.user.alive()) this.net.sched.at(peer.user.domain, 5, () => peer.iceState('connected'))
    }
  }

  /** The page is gone (crash or reload): the node may hear its sockets close; its peers' links go quiet. */
  gone(nodeHears: boolean): void {
    for (const pair of [...this.sockets]) {
      if (nodeHears) pair.client.close()
      else pair.breakWire(false)
    }
    for (const l of [...this.links]) {
      const peer = l.peer
      l.destroyed = true
      this.net.links.delete(l.id)
      if (peer && peer.user.alive()) this.net.sched.at(peer.user.domain, 10, () => peer.iceState('disconnected'))
    }
    this.links.clear()
  }
}

export class SimNetwork {
  readonly links = new Map<string, SimLink>()
  /** Sees every frame a client receives from the node (debugging). */
  frameHook: ((uid: string, frame: Uint8Array, toNode: boolean) => void) | null = null
  private current: NodeEnd | null = null
  /** Pairs of users whose direct links never connect (as if ICE found no path). */
  readonly noPath = new Set<string>()
  readonly users = new Set<SimUserNet>()

  constructor(
    readonly sched: Scheduler,
    readonly prng: Prng,
    readonly opts: NetOptions,
  ) {}

  node(): NodeEnd | null {
    return this.current && !this.current.domain.dead ? this.current : null
  }

  setNode(node: NodeEnd | null): void {
    this.current = node
  }

  user(uid: string, domain: Domain): SimUserNet {
    const u = new SimUserNet(this, uid, domain)
    this.users.add(u)
    return u
  }

  linkAllowed(a: string, b: string): boolean {
    return !this.noPath.has(a < b ? `${a} ${b}` : `${b} ${a}`)
  }

  /** The node process died: every client's socket to it resets. */
  nodeCrashed(): void {
    for (const u of this.users) {
      for (const pair of [...u.sockets]) {
        if (pair.cut) continue
        pair.cut = true
        pair.serverOpen = false
        if (u.alive()) this.sched.at(u.domain, this.prng.int(1, 20), () => pair.client.closed(1006, 'node gone'))
      }
    }
  }
}
