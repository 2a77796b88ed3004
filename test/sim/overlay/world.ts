/**
 * The overlay simulation: members running the real ChannelOverlay over an in-memory network with
 * per-link latency (log-normal, 20–200 ms), frame loss, and churn (members leaving — half of them
 * gracefully, half by crashing — and new ones joining) while a few senders publish. A stand-in for
 * the node introduces random members. Seeded: a run is a function of its options.
 */
import { Decoder, MessageKind, OverlayFrameType, decodeOverlayFrame } from '@plaza/protocol'
import { ChannelOverlay, type OverlayConfig, type OverlayDelivery } from '@plaza/client/overlay'
import { Prng } from '../prng.js'
import { VirtualTime } from './clock.js'
import { issueCert, keyFromSeed, simCrypto, type SimKey } from './crypto.js'

export interface OverlaySimOptions {
  members: number
  seed: number
  /** Members that publish (they stay for the whole run). */
  senders: number
  messagesPerSender: number
  /** Mean time between one sender's messages (±30%). */
  sendIntervalMs: number
  /** Fraction of the members that leave (and as many that join) per minute. */
  churnPerMin: number
  /** Probability that a frame is lost. */
  loss: number
  /** Time for the links to form before the first message. */
  warmupMs: number
  /** Time after the last message for repairs to finish. */
  drainMs: number
  /** Every member forwards every message to all its links (baseline). */
  flood: boolean
  /**
   * How link latency is drawn (20–200 ms either way). `metric`: each member has a place on a plane
   * and an access delay, a link costs both access delays plus the distance (so latency obeys the
   * triangle inequality, as on the internet). `pair`: each pair's latency drawn on its own
   * (log-normal), so a path of many short links often beats a direct one.
   */
  latency: 'metric' | 'pair'
  config?: Partial<OverlayConfig>
  /** Called every simulated second (progress). */
  onSecond?: (t: number) => void
}

export const DEFAULT_SIM: OverlaySimOptions = {
  members: 1000,
  seed: 1,
  senders: 20,
  messagesPerSender: 15,
  sendIntervalMs: 2000,
  churnPerMin: 0.05,
  loss: 0.005,
  warmupMs: 10_000,
  drainMs: 30_000,
  flood: false,
  latency: 'pair',
}

export interface OverlaySimResult {
  options: OverlaySimOptions
  messages: number
  stableMembers: number
  joined: number
  left: number
  /** Deliveries to members present for the whole run / what they should have got. */
  deliveryRatio: number
  /** Deliveries to members that joined during the run, of messages sent ≥ 5 s after they joined, while they stayed. */
  joinerDeliveryRatio: number
  maxHops: number
  /** Per message, the hops of its last delivery: the largest and the mean. */
  lastDeliveryHopsMax: number
  lastDeliveryHopsMean: number
  /** The same for the first message of each stream (it floods: its tree forms from it) and for the later ones. */
  lastDeliveryHopsMaxFirst: number
  lastDeliveryHopsMaxRest: number
  lastDeliveryHopsMeanRest: number
  /** The fewest links from a sender to the present member farthest from it, at the end (the least any tree's last delivery can be): the largest over senders. */
  shortestPathMax: number
  /** GOSSIP copies received per delivery (all members), overall, for each stream's first message, and for the rest. */
  copies: number
  copiesFirst: number
  copiesRest: number
  /** All overlay frames sent per delivery (GOSSIP, IHAVE, GRAFT, PRUNE, PULL, neighbour frames). */
  framesPerDelivery: number
  latencyP50: number
  latencyP99: number
  /** Of each stream's first message. */
  latencyFirstP50: number
  latencyFirstP99: number
  linksMax: number
  linksMean: number
  linksMinStable: number
  skipped: number
  rejected: number
  violations: string[]
  events: number
  wallMs: number
}

interface Member {
  uid: string
  index: number
  overlay: ChannelOverlay
  alive: boolean
  initial: boolean
  joinedAt: number
  leftAt: number
  /** Per origin stream: the last seq delivered. */
  last: Map<string, number>
  candidatesAskedAt: number
}

const APP = 'sim-app'
const CHANNEL = 'big-room'

function pairLatency(seed: number, a: number, b: number): number {
  const lo = Math.min(a, b)
  const hi = Math.max(a, b)
  const u1 = (hash32(seed ^ Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi, 0x85ebca6b)) + 1) / 4294967297
  const u2 = (hash32(seed + 0x1234567 + Math.imul(lo, 0xc2b2ae35) + Math.imul(hi, 0x27d4eb2f)) + 1) / 4294967297
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
  // Median 63 ms (the geometric mean of 20 and 200), 20–200 within two standard deviations.
  return Math.min(200, Math.max(20, Math.round(63 * Math.exp(0.576 * z))))
}

/** Access delay (log-normal, median 8 ms, 2–40) plus 150 ms per unit of distance on a unit square, within 20–200 ms. */
function metricLatency(seed: number, a: number, b: number): number {
  const u = (i: number, k: number) => hash32(seed ^ Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(k, 0x85ebca6b)) / 4294967296
  const access = (i: number) => {
    const z = Math.sqrt(-2 * Math.log(u(i, 3) + 1e-12)) * Math.cos(2 * Math.PI * u(i, 4))
    return Math.min(40, Math.max(2, 8 * Math.exp(0.6 * z)))
  }
  const d = Math.hypot(u(a, 1) - u(b, 1), u(a, 2) - u(b, 2))
  return Math.min(200, Math.max(20, Math.round(access(a) + access(b) + 150 * d)))
}

function hash32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  return (x ^ (x >>> 16)) >>> 0
}

/** origin, stream, seq of GOSSIP bytes (a peek: the sim counts copies per message without decoding twice). */
function peekGossip(bytes: Uint8Array): { origin: string; stream: string; seq: number } {
  const d = new Decoder(bytes)
  d.varuint()
  d.string(64)
  const origin = d.string(64)
  const stream = d.string(64)
  return { origin, stream, seq: d.varuint() }
}

export function runOverlaySim(opts: OverlaySimOptions): OverlaySimResult {
  const t0 = Date.now()
  const time = new VirtualTime()
  const root = new Prng(opts.seed)
  const churnRng = root.fork()
  const lossRng = root.fork()
  const workRng = root.fork()
  const nodeRng = root.fork()
  const keyRng = root.fork()
  const memberRngs = root.fork()
  const violations: string[] = []
  const violate = (s: string) => {
    if (violations.length < 100) violations.push(s)
  }
  const nodeKey: SimKey = keyFromSeed(seedBytes(keyRng))
  const start = time.now
  const members = new Map<string, Member>()
  const present: Member[] = []
  const presentIndex = new Map<string, number>()
  let nextIndex = 0
  let joined = 0
  let left = 0
  const senders = new Set<string>()

  // Per message: when sent, deliveries, last delivery.
  interface MsgInfo {
    sentTs: number
    first: boolean
    lastAt: number
    lastHops: number
    gossipCopies: number
    deliveries: number
  }
  const msgs = new Map<string, MsgInfo>()
  const latencies: number[] = []
  /** The same for each stream's first message (it floods). */
  const latenciesFirst: number[] = []
  let maxHops = 0
  let deliveries = 0
  let framesSent = 0
  const sendFailSeen = new Set<string>()

  /**
   * SIM_DEBUG_PATH=1: each later message whose last delivery took more than 8 hops is printed with
   * the path of its copy to that member (who it came from, hops, time since sent, link latency,
   * R for a repair).
   */
  const DBG = !!process.env.SIM_DEBUG_PATH
  /** SIM_DEBUG_KEY="origin stream seq": also the announcements each member got of that message. */
  const DBG_KEY = process.env.SIM_DEBUG_KEY ?? ''
  const ihaves = new Map<string, string[]>()
  /** message key|member → the first copy it got (DBG). */
  const firstCopy = new Map<string, { from: string; at: number; hops: number; flags: number; lat: number }>()
  /** message key → the member of its last delivery (DBG). */
  const lastMember = new Map<string, string>()
  const send = (from: Member, to: string, bytes: Uint8Array) => {
    if (!from.alive) return
    framesSent++
    const target = members.get(to)
    if (!target) return
    if (lossRng.chance(opts.loss)) return
    const lat = opts.latency === 'pair' ? pairLatency(opts.seed, from.index, target.index) : metricLatency(opts.seed, from.index, target.index)
    time.at(lat, () => {
      if (!target.alive) {
        // The sender's host notices the dead link after a while.
        const k = `${from.uid}>${to}`
        if (from.alive && !sendFailSeen.has(k)) {
          sendFailSeen.add(k)
          time.at(churnRng.int(2000, 8000), () => from.alive && from.overlay.linkDown(to))
        }
        return
      }
      if (DBG_KEY && bytes[0] === OverlayFrameType.IHAVE) {
        const f = decodeOverlayFrame(bytes) as { ids: Array<{ origin: string; stream: string; seq: number; hops: number }> }
        for (const id of f.ids) {
          if (`${id.origin} ${id.stream} ${id.seq}` !== DBG_KEY) continue
          const k = `${to}`
          const list = ihaves.get(k) ?? []
          list.push(`${from.uid}:h${id.hops}@t${time.now}`)
          ihaves.set(k, list)
        }
      }
      if (bytes[0] === OverlayFrameType.GOSSIP) {
        const g = peekGossip(bytes)
        const info = msgs.get(`${g.origin}\n${g.stream}\n${g.seq}`)
        if (info) info.gossipCopies++
        if (DBG) {
          const k = `${g.origin}\n${g.stream}\n${g.seq}|${to}`
          if (!firstCopy.has(k)) {
            const f = decodeOverlayFrame(bytes) as { hops: number; flags: number }
            firstCopy.set(k, { from: from.uid, at: time.now, hops: f.hops, flags: f.flags, lat })
          }
        }
      }
      target.overlay.receive(from.uid, bytes)
    })
  }

  const onDeliver = (m: Member, d: OverlayDelivery) => {
    const now = time.now
    const key = `${d.origin}\n${d.stream}\n${d.seq}`
    const info = msgs.get(key)
    if (!info) {
      violate(`${m.uid} got an unknown message ${key}`)
      return
    }
    const sk = `${d.origin}\n${d.stream}`
    const last = m.last.get(sk) ?? 0
    if (d.seq <= last) violate(`${m.uid} got ${d.origin}#${d.seq} again or out of order (after #${last})`)
    else if (m.initial && d.seq !== last + 1) violate(`${m.uid} (present throughout) got ${d.origin}#${d.seq} after #${last}: a gap`)
    m.last.set(sk, d.seq)
    if (new TextDecoder().decode(d.body) !== `${d.origin}:${d.seq}`) violate(`${m.uid} got a wrong body for ${key}`)
    deliveries++
    info.deliveries++
    if (now >= info.lastAt) {
      info.lastAt = now
      info.lastHops = d.hops
      if (DBG) lastMember.set(key, m.uid)
    }
    if (d.hops > maxHops) maxHops = d.hops
    latencies.push(now - info.sentTs)
    if (info.first) latenciesFirst.push(now - info.sentTs)
  }

  const join = (initial: boolean): Member => {
    const index = nextIndex++
    const uid = `m${index}`
    const key = keyFromSeed(seedBytes(keyRng))
    const rng = memberRngs.fork()
    const cert = issueCert(nodeKey, APP, CHANNEL, uid, key.publicKey, start + 86_400_000)
    // eslint-disable-next-line prefer-const
    let m: Member
    const overlay = new ChannelOverlay(
      {
        app: APP,
        channel: CHANNEL,
        self: uid,
        stream: `s${index}`,
        clock: time.clock(() => m.alive),
        random: () => rng.next(),
        crypto: simCrypto(key),
        nodeKey: nodeKey.publicKey,
        cert,
        send: (to, bytes) => send(m, to, bytes),
        deliver: (d) => onDeliver(m, d),
        requestCandidates: () => {
          if (time.now - m.candidatesAskedAt < 2000) return
          m.candidatesAskedAt = time.now
          introduce(m)
        },
        onEvent: (e) => {
          if (e.type === 'rejected') violate(`${uid} rejected a frame from ${e.from}: ${e.error.codeName} ${e.error.message}`)
        },
      },
      { ...opts.config, flood: opts.flood },
    )
    m = { uid, index, overlay, alive: true, initial, joinedAt: time.now, leftAt: 0, last: new Map(), candidatesAskedAt: 0 }
    members.set(uid, m)
    presentIndex.set(uid, present.length)
    present.push(m)
    if (!initial) joined++
    overlay.start()
    introduce(m)
    return m
  }

  /** The node stand-in: 16 random present members, after a round trip to the node. */
  const introduce = (m: Member) => {
    time.at(nodeRng.int(40, 160), () => {
      if (!m.alive) return
      const out = new Set<string>()
      for (let i = 0; i < 24 && out.size < 16 && present.length > 1; i++) {
        const c = present[Math.floor(nodeRng.next() * present.length)]!
        if (c !== m) out.add(c.uid)
      }
      m.overlay.addCandidates([...out])
    })
  }

  const leave = (m: Member) => {
    const graceful = churnRng.chance(0.5)
    const links = m.overlay.links
    if (graceful) m.overlay.stop()
    m.alive = false
    m.leftAt = time.now
    left++
    const i = presentIndex.get(m.uid)!
    const lastM = present[present.length - 1]!
    present[i] = lastM
    presentIndex.set(lastM.uid, i)
    present.pop()
    presentIndex.delete(m.uid)
    // Its neighbours' hosts see the link close: soon if it said goodbye, after a timeout if it crashed.
    for (const p of links) {
      const n = members.get(p)
      if (!n) continue
      time.at(graceful ? churnRng.int(100, 500) : churnRng.int(2000, 8000), () => n.alive && n.overlay.linkDown(m.uid))
    }
  }

  for (let i = 0; i < opts.members; i++) join(true)
  const initial = [...present]
  for (let i = 0; i < opts.senders && i < initial.length; i++) senders.add(initial[Math.floor((i * initial.length) / opts.senders)]!.uid)

  // Churn: leave and join events at the given rate, over the whole run.
  const end = start + opts.warmupMs + opts.messagesPerSender * opts.sendIntervalMs * 1.3 + opts.drainMs
  const ratePerMs = (opts.churnPerMin * opts.members) / 60_000
  const scheduleChurn = () => {
    if (ratePerMs <= 0) return
    const dt = -Math.log(1 - churnRng.next()) / ratePerMs
    time.at(dt, () => {
      if (time.now > end) return
      for (let tries = 0; tries < 10; tries++) {
        const victim = present[Math.floor(churnRng.next() * present.length)]!
        if (senders.has(victim.uid)) continue
        leave(victim)
        break
      }
      join(false)
      scheduleChurn()
    })
  }
  scheduleChurn()

  // Workload: each sender publishes messagesPerSender messages.
  let messages = 0
  for (const uid of senders) {
    const m = members.get(uid)!
    let at = opts.warmupMs + workRng.next() * opts.sendIntervalMs
    for (let seq = 1; seq <= opts.messagesPerSender; seq++) {
      time.at(at, () => {
        msgs.set(`${uid}\ns${m.index}\n${seq}`, { sentTs: time.now, first: seq === 1, lastAt: 0, lastHops: 0, gossipCopies: 0, deliveries: 0 })
        messages++
        const r = m.overlay.publish(MessageKind.TEXT, new TextEncoder().encode(`${uid}:${seq}`))
        if (r instanceof Promise) throw new Error('the simulation signs synchronously')
        if (r !== seq) violate(`${uid} published seq ${r}, expected ${seq}`)
      })
      at += opts.sendIntervalMs * (0.7 + 0.6 * workRng.next())
    }
  }

  // Links per member, sampled every second.
  let linksMax = 0
  let linksSum = 0
  let linksSamples = 0
  time.at(1000, () => {
    for (const m of present) {
      const n = m.overlay.linkCount
      if (n > linksMax) linksMax = n
    }
    opts.onSecond?.(time.now - start)
  }, 1000)

  time.runUntil(end)

  // Expected deliveries: every message to every member present throughout (its origin aside).
  const stable = initial.filter((m) => m.alive)
  let expected = 0
  let got = 0
  for (const [key, info] of msgs) {
    const [origin, stream, seqS] = key.split('\n') as [string, string, string]
    const seq = Number(seqS)
    for (const m of stable) {
      if (m.uid === origin) continue
      expected++
      if ((m.last.get(`${origin}\n${stream}`) ?? 0) >= seq) got++
    }
    void info
  }
  for (const m of stable) {
    for (const [sk, last] of m.last) if (last > 0 && !msgs.has(`${sk}\n${last}`)) violate(`${m.uid}: unknown stream ${sk}`)
  }
  // Joiners that stayed: messages sent ≥ 5 s after they joined.
  let jExpected = 0
  let jGot = 0
  const joiners = [...members.values()].filter((m) => !m.initial && m.alive)
  for (const [key, info] of msgs) {
    const [origin, stream, seqS] = key.split('\n') as [string, string, string]
    for (const m of joiners) {
      if (info.sentTs < m.joinedAt + 5000) continue
      jExpected++
      if ((m.last.get(`${origin}\n${stream}`) ?? 0) >= Number(seqS)) jGot++
    }
  }
  let linksMinStable = Infinity
  for (const m of present) {
    linksSum += m.overlay.linkCount
    linksSamples++
    if (m.initial) linksMinStable = Math.min(linksMinStable, m.overlay.linkCount)
  }
  let shortestPathMax = 0
  for (const sid of senders) {
    const dist = new Map<string, number>([[sid, 0]])
    let frontier = [sid]
    while (frontier.length) {
      const next: string[] = []
      for (const u of frontier) {
        for (const v of members.get(u)!.overlay.links) {
          if (!members.get(v)?.alive || dist.has(v)) continue
          dist.set(v, dist.get(u)! + 1)
          next.push(v)
        }
      }
      if (next.length) shortestPathMax = Math.max(shortestPathMax, dist.get(next[0]!)!)
      frontier = next
    }
  }
  let skipped = 0
  let rejected = 0
  for (const m of members.values()) {
    skipped += m.overlay.stats.skipped
    rejected += m.overlay.stats.rejected
  }
  let copiesAll = 0
  let delAll = 0
  let copiesFirst = 0
  let delFirst = 0
  let hopsMax = 0
  let hopsSum = 0
  let hopsMaxFirst = 0
  let hopsMaxRest = 0
  let hopsSumRest = 0
  let rest = 0
  if (DBG) {
    for (const [key, info] of msgs) {
      if (info.first || info.lastHops <= 8) continue
      const origin = key.split('\n')[0]
      let cur = lastMember.get(key)
      const chain: string[] = []
      for (let i = 0; cur && cur !== origin && i < 30; i++) {
        const c = firstCopy.get(`${key}|${cur}`)
        if (!c) {
          chain.push(`${cur} (no copy seen)`)
          break
        }
        const [o, st, sq] = key.split('\n') as [string, string, string]
        const near = [-2, -1, 1, 2].map((d) => {
          const n = firstCopy.get(`${o}\n${st}\n${Number(sq) + d}|${cur}`)
          return n ? `${d > 0 ? '+' : ''}${d}:${n.from}/h${n.hops}` : `${d}:-`
        })
        const mem = members.get(cur!)
        const ih = ihaves.get(cur!)
        chain.push(
          `${cur}<-${c.from} h${c.hops} t${c.at - info.sentTs} lat${c.lat}${c.flags ? ' R' : ''}  [${near.join(' ')}]${mem && !mem.initial ? ` joined t${mem.joinedAt - info.sentTs}` : ''}${ih ? ` ihave ${ih.map((x) => x.replace(/@t(\d+)/, (_, t) => `@${Number(t) - info.sentTs}`)).join(',')}` : ''}`,
        )
        cur = c.from
      }
      console.log(`path of ${key.replace(/\n/g, ' ')}: last delivery ${info.lastHops} hops at +${info.lastAt - info.sentTs} ms:\n  ${chain.join('\n  ')}`)
    }
  }
  for (const info of msgs.values()) {
    copiesAll += info.gossipCopies
    delAll += info.deliveries
    if (info.first) {
      copiesFirst += info.gossipCopies
      delFirst += info.deliveries
    }
    hopsMax = Math.max(hopsMax, info.lastHops)
    hopsSum += info.lastHops
    if (info.first) hopsMaxFirst = Math.max(hopsMaxFirst, info.lastHops)
    else {
      hopsMaxRest = Math.max(hopsMaxRest, info.lastHops)
      hopsSumRest += info.lastHops
      rest++
    }
  }
  latencies.sort((a, b) => a - b)
  latenciesFirst.sort((a, b) => a - b)
  const pctOf = (xs: number[], p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : 0)
  const pct = (p: number) => pctOf(latencies, p)
  return {
    options: opts,
    messages,
    stableMembers: stable.length,
    joined,
    left,
    deliveryRatio: expected ? got / expected : 1,
    joinerDeliveryRatio: jExpected ? jGot / jExpected : 1,
    maxHops,
    lastDeliveryHopsMax: hopsMax,
    lastDeliveryHopsMean: msgs.size ? hopsSum / msgs.size : 0,
    lastDeliveryHopsMaxFirst: hopsMaxFirst,
    lastDeliveryHopsMaxRest: hopsMaxRest,
    lastDeliveryHopsMeanRest: rest ? hopsSumRest / rest : 0,
    shortestPathMax,
    copies: delAll ? copiesAll / delAll : 0,
    copiesFirst: delFirst ? copiesFirst / delFirst : 0,
    copiesRest: delAll - delFirst ? (copiesAll - copiesFirst) / (delAll - delFirst) : 0,
    framesPerDelivery: deliveries ? framesSent / deliveries : 0,
    latencyP50: pct(0.5),
    latencyP99: pct(0.99),
    latencyFirstP50: pctOf(latenciesFirst, 0.5),
    latencyFirstP99: pctOf(latenciesFirst, 0.99),
    linksMax,
    linksMean: linksSamples ? linksSum / linksSamples : 0,
    linksMinStable: linksMinStable === Infinity ? 0 : linksMinStable,
    skipped,
    rejected,
    violations,
    events: time.events,
    wallMs: Date.now() - t0,
  }
}

function seedBytes(rng: Prng): Uint8Array {
  const b = new Uint8Array(32)
  for (let i = 0; i < 32; i++) b[i] = rng.int(0, 255)
  return b
}

export function formatResult(r: OverlaySimResult): string {
  const o = r.options
  const f = (n: number, d = 2) => n.toFixed(d)
  return [
    `${o.flood ? 'flood' : 'overlay'}: ${o.members} members, seed ${o.seed}, ${r.messages} messages (${o.senders} senders × ${o.messagesPerSender}), churn ${f(o.churnPerMin * 100, 1)}%/min (${r.left} left, ${r.joined} joined), loss ${f(o.loss * 100, 1)}%, ${o.latency} latency`,
    `  delivery ratio (${r.stableMembers} members present throughout): ${f(r.deliveryRatio * 100, 3)}%   joiners (sent ≥ 5 s after they joined): ${f(r.joinerDeliveryRatio * 100, 3)}%`,
    `  hops: last delivery max ${r.lastDeliveryHopsMax}, mean ${f(r.lastDeliveryHopsMean, 1)} (first message of each stream max ${r.lastDeliveryHopsMaxFirst}; later ones max ${r.lastDeliveryHopsMaxRest}, mean ${f(r.lastDeliveryHopsMeanRest, 1)}); any delivery max ${r.maxHops}; shortest paths from the senders at the end: max ${r.shortestPathMax}`,
    `  payload copies received per member per message: ${f(r.copies)} (first message of each stream ${f(r.copiesFirst)}, later ones ${f(r.copiesRest)}); all overlay frames sent per delivery ${f(r.framesPerDelivery)}`,
    `  latency p50 ${r.latencyP50} ms, p99 ${r.latencyP99} ms (first message of each stream: p50 ${r.latencyFirstP50} ms, p99 ${r.latencyFirstP99} ms)`,
    `  links per member: max ${r.linksMax} (sampled each second), mean ${f(r.linksMean, 1)} at the end, min ${r.linksMinStable} among members present throughout`,
    `  skipped ${r.skipped}, rejected frames ${r.rejected}, violations ${r.violations.length}; ${r.events} events, ${f(r.wallMs / 1000, 1)} s`,
  ].join('\n')
}
