/**
 * A simulated deployment: one rendezvous node (the real node logic over an in-memory network and
 * a simulated disk) and a few users (real clients), run in virtual time from one seed. Faults are
 * injected while the users are active; then everything heals and the world is left to settle.
 */
import pino from 'pino'
import { ErrorCode, FrameType, PeerFrameType, PlazaError, decodeFrame, decodePeerFrame } from '@plaza/protocol'
import { LocalEngine, RendezvousNode, type NodeRuntime } from '@plaza/rendezvous'
import { Prng } from './prng.js'
import { Domain, Scheduler } from './scheduler.js'
import { SimNetwork } from './network.js'
import { SimDisk } from './store.js'
import { SimLog } from './log.js'
import { APP, SimUser, tokenOf, type UserWorld } from './user.js'

export interface SimOptions {
  seed: number
  /** Users (client pages). */
  users: number
  channels: string[]
  /** Virtual time with the app active and faults injected, ms. */
  activeMs: number
  /** Virtual time after healing, before the checks, ms. */
  settleMs: number
  faults: boolean
  lossyLinks: boolean
  /** Frames kept for a detached session (small, so that overflow happens). */
  detachedQueueFrames: number
  /** Offline messages kept per receiver (small, so that the cap drops some). */
  offlinePerReceiver: number
  /** Document compaction slack (small, so that generations change often). */
  compactSlackBytes: number
  /** Channels run their overlay above this many members, and the member count swings across it (null: copies only). */
  overlayThreshold: number | null
}

export function optionsFor(seed: number): SimOptions {
  const p = new Prng(seed ^ 0x5eed)
  return {
    seed,
    users: p.int(3, 5),
    channels: p.chance(0.5) ? ['room'] : ['room', 'hall'],
    activeMs: p.int(20_000, 60_000),
    settleMs: 130_000,
    faults: true,
    lossyLinks: p.chance(0.3),
    detachedQueueFrames: p.pick([16, 64, 4096]),
    offlinePerReceiver: p.pick([3, 10, 200]),
    // Negative: nearly every write starts a new generation (stresses the switch between them).
    compactSlackBytes: p.pick([-400, 0, 512, 4096]),
    overlayThreshold: null,
  }
}

/**
 * A world whose channel goes into its overlay and back: enough users to pass the threshold, one
 * channel, and swings of the member count (World.swing) across the threshold and down to where
 * it goes back to one copy per member, with bursts of messages around each switch.
 */
export function overlayOptionsFor(seed: number): SimOptions {
  const p = new Prng(seed ^ 0x0ee71a)
  return { ...optionsFor(seed), users: p.int(9, 11), channels: ['room'], activeMs: p.int(70_000, 110_000), overlayThreshold: p.pick([6, 7]) }
}

/** The overlay world without faults (nor lossy links): members still join and leave, and every message must reach every member, soon (checker.ts). */
export function calmOverlayOptionsFor(seed: number): SimOptions {
  return { ...overlayOptionsFor(seed), faults: false, lossyLinks: false }
}

/** The overlay's hysteresis (channel-overlay.ts): back to copies at the threshold less this. */
const OVERLAY_HYSTERESIS = 4

export class World implements UserWorld {
  readonly sched = new Scheduler()
  readonly prng: Prng
  readonly net: SimNetwork
  readonly disk = new SimDisk()
  readonly log: SimLog
  readonly users: SimUser[] = []
  readonly channels: string[]
  readonly overlayThreshold: number | null
  readonly swungOut = new Set<string>()
  active = true
  node: RendezvousNode | null = null
  /** The node's engine, for the checker to read between steps. */
  engine: LocalEngine | null = null
  /** Compactions counted by node processes that crashed since. */
  compactions = 0
  private nodeDomain: Domain | null = null
  private nodes = 0
  /** Never dies: the faults and the test's own steps run here. */
  readonly god = new Domain('world')

  constructor(readonly opts: SimOptions) {
    this.prng = new Prng(opts.seed)
    this.log = new SimLog(() => this.sched.now, Number(process.env.SIM_TRACE_LIMIT ?? 4000))
    this.channels = opts.channels
    this.overlayThreshold = opts.overlayThreshold
    this.net = new SimNetwork(this.sched, this.prng.fork(), { wsLatency: [1, 30], linkLatency: [1, 15], lossyLinks: opts.lossyLinks })
    for (let i = 0; i < opts.users; i++) this.users.push(new SimUser(`u${i}`, this, this.prng.fork()))
    if (process.env.SIM_FRAMES) {
      const who = new RegExp(process.env.SIM_FRAMES)
      this.net.frameHook = (uid, bytes, toNode) => {
        if (who.test(uid)) this.log.note(`${uid} ${toNode ? '->' : '<-'} ${describeFrame(bytes)}`)
      }
    }
    // Some pairs never get a direct link (ICE finds no path): the relay carries everything.
    for (let i = 0; i < opts.users; i++) for (let j = i + 1; j < opts.users; j++) if (this.prng.chance(0.2)) this.net.noPath.add(`u${i} u${j}`)
  }

  /** Starts a node process on the disk (after a crash: a new one over what the disk kept). */
  async startNode(): Promise<void> {
    const domain = new Domain(`node#${++this.nodes}`)
    const rng = this.prng.fork()
    const runtime: NodeRuntime = {
      clock: this.sched.clock(domain),
      random: () => rng.next(),
      sessionId: () => rng.id() + rng.id(),
      verifyToken: async (token, _secret, expect) => {
        if (token !== tokenOf(expect.uid)) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'bad token')
        return { expiresAt: this.sched.now + 10 * 86400_000, grants: {} }
      },
    }
    const db = this.disk.forProcess(this.sched, domain, rng)
    const config = {
      apps: { [APP]: 'secret' },
      logLevel: 'silent',
      // Direct links wherever the client wants one: the paths the delivery logic must get right.
      linkPolicy: 'always' as const,
      processMetrics: false,
      detachedQueueFrames: this.opts.detachedQueueFrames,
      offlinePerReceiver: this.opts.offlinePerReceiver,
      docCompactSlackBytes: this.opts.compactSlackBytes,
    }
    const engine = new LocalEngine(db, { perReceiver: this.opts.offlinePerReceiver, retentionMs: 7 * 86400_000 }, () => this.sched.now)
    const node = new RendezvousNode(config, { runtime, logger: pino({ level: process.env.SIM_LOG ?? 'silent' }), engine })
    this.node = node
    this.engine = engine
    this.nodeDomain = domain
    await node.start()
    this.net.setNode({ domain, accept: (c) => node.accept(c) })
    this.log.note(`node#${this.nodes} up`)
  }

  /** kill -9 of the node: memory gone, the disk keeps what was written. */
  crashNode(): void {
    if (!this.nodeDomain) return
    this.log.note(`node#${this.nodes} crashes`)
    void this.node?.metrics.docCompactions.get().then((m) => (this.compactions += m.values[0]?.value ?? 0))
    this.nodeDomain.kill()
    this.nodeDomain = null
    this.node = null
    this.engine = null
    this.net.setNode(null)
    this.net.nodeCrashed()
  }

  /** Runs the whole scenario: active with faults, then healed and settled. */
  async run(): Promise<void> {
    await this.startNode()
    for (const u of this.users) u.start()
    if (this.opts.faults) this.scheduleFault()
    if (this.overlayThreshold !== null) this.scheduleSwing()
    await this.sched.runUntil(this.sched.now + this.opts.activeMs)
    this.active = false
    await this.heal()
    await this.sched.runUntil(this.sched.now + this.opts.settleMs)
  }

  /** Everything comes back: the node, every page, every network; nobody stays logged out. */
  private async heal(): Promise<void> {
    this.log.note('heal')
    if (!this.node) await this.startNode()
    for (const u of this.users) {
      if (!u.instance) u.start()
      const inst = u.instance!
      inst.net.healSockets()
      inst.net.healLinks()
      if (inst.loggedOut) void u.login(inst)
    }
  }

  private scheduleSwing(): void {
    this.sched.at(this.god, this.prng.int(12_000, 25_000), () => {
      if (this.active) this.swing()
    })
  }

  /**
   * All but a few users leave the channels (the count falls to where the channel goes back to one
   * copy per member, 15 s later); those left send bursts around that switch; then the others come
   * back (above the threshold: the overlay again) and everyone sends a burst.
   */
  private swing(): void {
    const rng = this.prng
    const later = (ms: number, fn: () => void) => this.sched.at(this.god, ms, fn)
    const order = [...this.users].sort(() => rng.next() - 0.5)
    const stayers = order.slice(0, rng.int(1, this.overlayThreshold! - OVERLAY_HYSTERESIS))
    const leavers = order.slice(stayers.length)
    this.log.note(`swing: ${leavers.map((u) => u.uid).join(' ')} leave; ${stayers.map((u) => u.uid).join(' ')} stay`)
    this.log.massLeaves.push(this.sched.now)
    for (const u of leavers) {
      this.swungOut.add(u.uid)
      u.swingOut()
    }
    later(rng.int(12_000, 17_000), () => {
      for (const u of stayers) u.burst(rng.int(10, 50), rng.int(5, 40))
    })
    later(rng.int(18_000, 45_000), () => {
      this.log.note('swing: back')
      this.swungOut.clear()
      for (const u of leavers) later(rng.int(0, 3000), () => u.swingBack())
      later(rng.int(0, 5000), () => {
        for (const u of this.users) u.burst(rng.int(5, 30), rng.int(5, 40))
      })
      if (this.active) this.scheduleSwing()
    })
  }

  private scheduleFault(): void {
    this.sched.at(this.god, this.prng.int(1000, 8000), () => {
      if (!this.active) return
      void this.fault()
      this.scheduleFault()
    })
  }

  private async fault(): Promise<void> {
    const rng = this.prng
    const later = (ms: number, fn: () => void) => this.sched.at(this.god, ms, fn)
    const user = rng.pick(this.users)
    const r = rng.next()
    if (r < 0.15) {
      if (!this.node) return
      this.crashNode()
      later(rng.int(200, 5000), () => void (this.node ? undefined : this.startNode()))
    } else if (r < 0.35) {
      // A page crashes or reloads; the app comes back on a new page over the same storage.
      // Sometimes the page stays closed a while (others' messages pile up in the store).
      const crash = rng.chance(0.5)
      await user.stop(crash, rng.chance(0.5))
      later(rng.chance(0.3) ? rng.int(5000, 30_000) : rng.int(100, 4000), () => {
        if (!user.instance) user.start()
      })
    } else if (r < 0.45) {
      void user.logout()
      later(rng.int(100, 5000), () => {
        const inst = user.instance
        if (inst?.loggedOut) void user.login(inst)
      })
    } else if (r < 0.7) {
      const inst = user.instance
      if (!inst) return
      const mode = rng.chance(0.5) ? 'reset' : 'blackhole'
      this.log.note(`${user.uid}#${inst.n} network ${mode}`)
      inst.net.breakSockets(mode)
      later(rng.int(500, mode === 'reset' ? 8000 : 40_000), () => {
        inst.net.healSockets()
        this.log.note(`${user.uid}#${inst.n} network back`)
      })
    } else if (r < 0.85) {
      const inst = user.instance
      if (!inst) return
      this.log.note(`${user.uid}#${inst.n} links break`)
      inst.net.breakLinks()
      later(rng.int(500, 10_000), () => inst.net.healLinks())
    } else {
      // A burst of awareness changes: fills the queues of detached members.
      const inst = user.instance
      const joined = inst ? [...inst.channels.values()].filter((v) => v.channel.joined) : []
      if (!joined.length) return
      const ch = rng.pick(joined).channel
      this.log.note(`${user.uid}#${inst!.n} floods ${ch.channelId}`)
      for (let i = 0; i < 100; i++) ch.awareness.setLocalStateField('n', rng.int(0, 1e6))
    }
  }
}

/** A frame from the node, in a line (for traces). */
function describeFrame(bytes: Uint8Array): string {
  const f = decodeFrame(bytes)
  const peer = (p: Uint8Array) => {
    try {
      const x = decodePeerFrame(p)
      if (x.type === PeerFrameType.MESSAGE) return `MSG ${x.stream} seq ${x.seq} floor ${x.floor} ${x.text}`
      if (x.type === PeerFrameType.ACK) return `ACK ${x.stream} upTo ${x.upTo} missing ${JSON.stringify(x.missing)} known ${x.known}`
      return `SYNC ${x.channel}`
    } catch {
      return 'bad peer frame'
    }
  }
  if (f.type === FrameType.RELAY_FROM) return `RELAY_FROM ${f.from}: ${peer(f.payload)}`
  if (f.type === FrameType.RELAY_TO) return `RELAY_TO ${f.to}: ${peer(f.payload)}`
  if (f.type === FrameType.RESULT) return `RESULT ${f.reqId} ${f.code}`
  if (f.type === FrameType.CHANNEL_SYNC_TO_NODE || f.type === FrameType.CHANNEL_SYNC_FROM_NODE) return `${FrameType[f.type]} ${f.channel} ${f.kind === 2 ? 'doc' : 'awareness'} epoch ${f.epoch} type ${f.payload[0]} ${'reqId' in f ? `req ${f.reqId}` : ''}`
  if (f.type === FrameType.OFFLINE_MESSAGES) return `OFFLINE ${f.messages.map((m) => `[${m.id} ${m.from}: ${peer(m.payload)}]`).join(' ')} dropped ${JSON.stringify(f.dropped)}`
  return FrameType[f.type]
}
