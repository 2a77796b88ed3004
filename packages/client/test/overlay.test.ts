import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  ErrorCode,
  MessageKind,
  OverlayFrameType,
  decodeOverlayFrame,
  encodeOverlayFrame,
  overlayCertSigningBytes,
  type Clock,
  type MemberCert,
  type OverlayGossipFrame,
} from '@plaza/protocol'
import {
  ChannelOverlay,
  OVERLAY_LIMITS,
  StreamOrder,
  Views,
  generateOverlayKey,
  overlayConfig,
  type OverlayConfig,
  type OverlayCrypto,
  type OverlayDelivery,
  type OverlayEvent,
} from '../src/overlay/index.js'
import { holdRule } from '../src/overlay/hold.js'
import { GapPuller } from '../src/overlay/gaps.js'

// fast-check's seed, printed so that a failure can be replayed (FC_SEED=…).
const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31))
console.log(`overlay properties: FC_SEED=${SEED}`)
const fcOpts = { seed: SEED, numRuns: 300 }

describe('views', () => {
  it('never hold more than D_high links, nor self, whatever arrives', () => {
    const cfg = overlayConfig()
    const ops = fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('candidates' as const), uids: fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 10 }) }),
        fc.record({ op: fc.constant('ask' as const), n: fc.integer({ min: 0, max: 12 }) }),
        fc.record({ op: fc.constant('request' as const), uid: fc.integer({ min: 0, max: 40 }), urgent: fc.boolean() }),
        fc.record({ op: fc.constant('reply' as const), uid: fc.integer({ min: 0, max: 40 }), accepted: fc.boolean() }),
        fc.record({ op: fc.constant('unlink' as const), uid: fc.integer({ min: 0, max: 40 }), gone: fc.boolean() }),
      ),
      { maxLength: 200 },
    )
    fc.assert(
      fc.property(ops, fc.integer(), (list, rs) => {
        let r = rs
        const v = new Views('u0', cfg, () => ((r = (Math.imul(r, 1103515245) + 12345) | 0) >>> 0) / 2 ** 32)
        for (const o of list) {
          const before = v.active.size
          if (o.op === 'candidates') v.addCandidates(o.uids.map((u) => `u${u}`))
          else if (o.op === 'ask') v.pickToAsk(o.n, 1000)
          else if (o.op === 'request') {
            const a = v.onRequest(`u${o.uid}`, o.urgent)
            if (a.accepted && !o.urgent && before >= cfg.D_accept) expect(v.active.size).toBe(before) // only an existing link
          } else if (o.op === 'reply') v.onReply(`u${o.uid}`, o.accepted)
          else v.unlink(`u${o.uid}`, o.gone)
          expect(v.active.size).toBeLessThanOrEqual(cfg.D_high)
          expect(v.active.has('u0')).toBe(false)
          expect(v.wanted()).toBeLessThanOrEqual(cfg.D)
        }
      }),
      fcOpts,
    )
  })
})

describe('per-origin order', () => {
  type M = { seq: number; prevTs: number; sentTs: number }
  const stream = (n: number): M[] => Array.from({ length: n }, (_, i) => ({ seq: i + 1, prevTs: i === 0 ? 0 : 1000 * i, sentTs: 1000 * (i + 1) }))

  it('delivers each message once, in order, from the first one sent after the join, whatever the arrival order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }), fc.array(fc.integer({ min: 0, max: n - 1 }), { minLength: n, maxLength: 4 * n })),
        ),
        ([n, joinAfter, extra]) => {
          const msgs = stream(n)
          // Joined just after message `joinAfter` was sent: it wants joinAfter+1 … n.
          const order = new StreamOrder<M>(1000 * joinAfter + 1, 0)
          // Every message at least once (a random permutation), then random duplicates mixed in.
          const arrivals = [...extra.map((i) => msgs[i]!), ...msgs].sort(() => 0).map((m, i, a) => a[(i * 7919) % a.length]!)
          for (const m of msgs) if (!arrivals.includes(m)) arrivals.push(m)
          const got: number[] = []
          for (const m of arrivals) {
            const r = order.accept(m, 0)
            if (r.status === 'ok') got.push(...r.deliver.map((d) => d.seq))
          }
          expect(got).toEqual(msgs.slice(joinAfter).map((m) => m.seq))
          expect(order.gap(16)).toBeNull()
        },
      ),
      fcOpts,
    )
  })

  it('reports a gap below the lowest waiting message, and skips it when told to', () => {
    const msgs = stream(6)
    const order = new StreamOrder<M>(0, 0)
    expect(order.accept(msgs[0]!, 0)).toEqual({ status: 'ok', deliver: [msgs[0]] })
    expect(order.accept(msgs[3]!, 5)).toEqual({ status: 'ok', deliver: [] })
    expect(order.gapSince).toBe(5)
    expect(order.gap(16)).toEqual({ from: 2, to: 3 })
    const s = order.skip(9)
    expect(s.skipped).toEqual({ from: 2, to: 3 })
    expect(s.deliver.map((m) => m.seq)).toEqual([4])
    expect(order.accept(msgs[1]!, 10)).toEqual({ status: 'duplicate' })
  })

  it('skips through a seq named from elsewhere: what waits up to it is delivered in order, the holes reported, later ones follow, a late copy is a duplicate', () => {
    const msgs = stream(9)
    const order = new StreamOrder<M>(0, 0)
    order.accept(msgs[0]!, 0)
    order.accept(msgs[3]!, 1) // 4 waits behind 2–3
    order.accept(msgs[6]!, 1) // 7 waits behind 5–6
    const s = order.skipThrough(5, 2)
    expect(s.skipped).toEqual([{ from: 2, to: 3 }, { from: 5, to: 5 }])
    expect(s.deliver.map((m) => m.seq)).toEqual([4])
    expect(order.has(5)).toBe(true)
    expect(order.gap(16)).toEqual({ from: 6, to: 6 })
    expect(order.accept(msgs[2]!, 3)).toEqual({ status: 'duplicate' })
    expect(order.accept(msgs[4]!, 3)).toEqual({ status: 'duplicate' })
    expect(order.accept(msgs[5]!, 3)).toEqual({ status: 'ok', deliver: [msgs[5], msgs[6]] })
    // Nothing to skip through what was passed already.
    expect(order.skipThrough(3, 4)).toEqual({ skipped: [], deliver: [] })
  })

  it('a start known from an earlier membership (skipThrough) moves past what was sent before this join: no gap waits for it', () => {
    const msgs = stream(9)
    // Joined again just after message 6 was sent; a copy of the last membership named message 2.
    const order = new StreamOrder<M>(6001, 0)
    order.skipThrough(2, 0)
    expect(order.next).toBe(3)
    // Message 8 comes first (7 on its way): 3–7 are asked for (which of them are this member's is not known yet).
    expect(order.accept(msgs[7]!, 1)).toEqual({ status: 'ok', deliver: [] })
    expect(order.gap(16)).toEqual({ from: 3, to: 7 })
    // 7 follows a message sent before the join: delivery starts there.
    expect(order.accept(msgs[6]!, 2)).toEqual({ status: 'ok', deliver: [msgs[6], msgs[7]] })
    expect(order.gap(16)).toBeNull()
    // Only an early message comes (a pull's answer): the start moves past it, what waits behind goes.
    const again = new StreamOrder<M>(6001, 0)
    again.skipThrough(2, 0)
    again.accept(msgs[7]!, 1)
    expect(again.accept(msgs[5]!, 2)).toEqual({ status: 'ok', deliver: [] })
    expect(again.gap(16)).toEqual({ from: 7, to: 7 })
    expect(again.gapSince).toBe(1)
    expect(again.accept(msgs[3]!, 3)).toEqual({ status: 'duplicate' })
  })

  it('pulls every hole of a stream at once, and skips a hole behind a skipped one counting from when it was seen, not from the skip', () => {
    const cfg = overlayConfig()
    const msgs = stream(7)
    const order = new StreamOrder<M & OverlayGossipFrame>(0, 0)
    const pulls: Array<[string, number, number, number]> = []
    const skipped: Array<{ at: number; range: { from: number; to: number } | null; deliver: number[] }> = []
    let now = 0
    const puller = new GapPuller(cfg, {
      active: new Set(['p', 'q']),
      order: () => order,
      parent: () => 'p',
      random: () => 0,
      pull: (peer, _o, _s, from, to) => pulls.push([peer, from, to, now]),
      pullOrigin: () => {},
      skipped: (_o, _s, range, deliver) => skipped.push({ at: now, range, deliver: deliver.map((m) => m.seq) }),
      wake: () => {},
    })
    const take = (i: number) => {
      order.accept(msgs[i] as M & OverlayGossipFrame, now)
      puller.note('o\ns', order, now)
    }
    take(0)
    now = 10
    take(2) // 2 missing
    now = 20
    take(4) // 4 missing
    take(6) // 6 missing
    now = 10 + cfg.gapTimeoutMs
    puller.tick(now)
    expect(pulls).toEqual([['p', 2, 2, now], ['p', 4, 4, now], ['p', 6, 6, now]])
    now = 10 + cfg.gapGiveUpMs
    puller.tick(now)
    // 2 skipped; 4 and 6 were known (and pulled) since 20 ms: their wait ends 10 ms later, not a whole gapGiveUpMs.
    expect(skipped).toEqual([{ at: now, range: { from: 2, to: 2 }, deliver: [3] }])
    now = 20 + cfg.gapGiveUpMs
    puller.tick(now)
    expect(skipped.slice(1)).toEqual([{ at: now, range: { from: 4, to: 4 }, deliver: [5] }, { at: now, range: { from: 6, to: 6 }, deliver: [7] }])
  })

  it('asks the origin itself for a gap once, after originPullAfterTries pulls from neighbours (they may have left with it)', () => {
    const cfg = overlayConfig()
    const msgs = stream(4)
    const order = new StreamOrder<M & OverlayGossipFrame>(0, 0)
    const pulls: string[] = []
    let now = 1
    const puller = new GapPuller(cfg, {
      active: new Set(['p', 'q']),
      order: () => order,
      parent: () => 'p',
      random: () => 0,
      pull: (peer, _o, _s, from, to) => pulls.push(`${peer} ${from}-${to}`),
      pullOrigin: (origin, _s, from, to) => pulls.push(`origin ${origin} ${from}-${to}`),
      skipped: () => {},
      wake: () => {},
    })
    for (const i of [0, 3]) {
      order.accept(msgs[i] as M & OverlayGossipFrame, now)
      puller.note('o\ns', order, now)
    }
    for (now = 1 + cfg.gapTimeoutMs; now < 1 + cfg.gapTimeoutMs + 6 * cfg.gapRetryMs; now += cfg.gapRetryMs) puller.tick(now)
    expect(cfg.originPullAfterTries).toBe(3)
    expect(pulls).toEqual(['p 2-3', 'q 2-3', 'p 2-3', 'q 2-3', 'origin o 2-3', 'p 2-3', 'q 2-3'])
  })

  it('never skips a hole it has not pulled: one beyond the pullHoles asked for is pulled when it comes up, and waits a retry for the answer', () => {
    const cfg = overlayConfig()
    const msgs = stream(13)
    const order = new StreamOrder<M & OverlayGossipFrame>(0, 0)
    const pulled = new Map<number, number>()
    const skips: Array<[number, number]> = []
    // Times from 1 (0 is "no gap" to the order).
    let now = 1
    const puller = new GapPuller(cfg, {
      active: new Set(['p']),
      order: () => order,
      parent: () => 'p',
      random: () => 0,
      pull: (_p, _o, _s, from) => pulled.has(from) || pulled.set(from, now),
      pullOrigin: () => {},
      skipped: (_o, _s, range) => range && skips.push([range.from, now]),
      wake: () => {},
    })
    // Holes 2, 4, 6, 8, 10, 12: six, over the four pulled at once.
    for (const i of [0, 2, 4, 6, 8, 10, 12]) {
      order.accept(msgs[i] as M & OverlayGossipFrame, now)
      puller.note('o\ns', order, now)
    }
    expect(cfg.pullHoles).toBe(4)
    for (now = 1 + cfg.gapTimeoutMs; now <= 1 + cfg.gapGiveUpMs + 5 * cfg.gapRetryMs; now += 100) puller.tick(now)
    expect(skips.map(([from]) => from)).toEqual([2, 4, 6, 8, 10, 12])
    for (const [from, at] of skips) {
      expect(pulled.get(from)).toBeDefined()
      expect(at - pulled.get(from)!).toBeGreaterThanOrEqual(cfg.gapRetryMs)
    }
    // The four asked at first are skipped when their 30 s are over, the others a retry after they were asked.
    const end = 1 + cfg.gapGiveUpMs
    expect(skips.slice(0, 4).map(([, at]) => at)).toEqual([end, end, end, end])
    expect(skips.slice(4).map(([, at]) => at)).toEqual([end + cfg.gapRetryMs, end + cfg.gapRetryMs])
  })
})

/** A few overlays over an in-memory network in virtual time, with real (WebCrypto) Ed25519. */
class Net {
  now = 1_700_000_000_000
  private q: Array<{ at: number; n: number; fn: () => void }> = []
  private n = 0
  /** Return false to drop a frame. */
  filter: (from: string, to: string, bytes: Uint8Array) => boolean = () => true
  /** Milliseconds a frame takes from one member to another. */
  latency: (from: string, to: string) => number = () => 20
  /** Overlay settings for members added from now on. */
  config: Partial<OverlayConfig> = {}
  readonly members = new Map<string, { overlay: ChannelOverlay; got: OverlayDelivery[]; events: OverlayEvent[] }>()

  clock: Clock = {
    now: () => this.now,
    setTimeout: (fn, ms) => this.at(ms, fn),
    clearTimeout: (h) => {
      if (h) (h as { fn: () => void }).fn = () => {}
    },
    setInterval: (fn, ms) => {
      const h = { fn: () => {} }
      const tick = () => {
        if (h.fn === noop) return
        fn()
        this.at(ms, tick)
      }
      h.fn = tick
      this.at(ms, () => h.fn())
      return h
    },
    clearInterval: (h) => {
      if (h) (h as { fn: () => void }).fn = noop
    },
  }

  at(ms: number, fn: () => void): { fn: () => void } {
    const e = { at: this.now + ms, n: this.n++, fn }
    this.q.push(e)
    this.q.sort((a, b) => a.at - b.at || a.n - b.n)
    return e
  }

  /** WebCrypto calls under way (they finish on another thread: virtual time waits for them). */
  private inflight = 0

  private async settle(): Promise<void> {
    do {
      for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r))
    } while (this.inflight > 0)
  }

  private track(c: OverlayCrypto): OverlayCrypto {
    const wrap = <T>(v: T | Promise<T>): T | Promise<T> => {
      if (!(v instanceof Promise)) return v
      this.inflight++
      return v.finally(() => this.inflight--)
    }
    return { sign: (d) => wrap(c.sign(d)), verify: (k, d, s) => wrap(c.verify(k, d, s)) }
  }

  async run(ms: number): Promise<void> {
    await this.settle()
    const until = this.now + ms
    for (;;) {
      const e = this.q[0]
      if (!e || e.at > until) break
      this.q.shift()
      this.now = e.at
      e.fn()
      await this.settle()
    }
    this.now = until
  }

  add(uid: string, crypto: OverlayCrypto, nodeKey: Uint8Array, cert: MemberCert, allowed?: (o: string) => boolean, linkOpening?: (peer: string) => boolean): ChannelOverlay {
    const m = { overlay: null as unknown as ChannelOverlay, got: [] as OverlayDelivery[], events: [] as OverlayEvent[] }
    m.overlay = new ChannelOverlay({
      app: 'app',
      channel: 'room',
      self: uid,
      stream: `s-${uid}`,
      clock: this.clock,
      random: Math.random,
      crypto: this.track(crypto),
      nodeKey,
      cert,
      joinedAt: this.now - 1,
      originAllowed: allowed,
      send: (to, bytes) => {
        if (!this.filter(uid, to, bytes)) return
        this.at(this.latency(uid, to), () => this.members.get(to)?.overlay.receive(uid, bytes))
      },
      deliver: (d) => m.got.push(d),
      onEvent: (e) => m.events.push(e),
      linkOpening,
    }, this.config)
    this.members.set(uid, m)
    return m.overlay
  }
}
const noop = () => {}

async function nodeKeyPair() {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair
  const pub = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))
  const certify = async (uid: string, pubkey: Uint8Array): Promise<MemberCert> => {
    const c = { app: 'app', channel: 'room', uid, pubkey, expiry: 1_800_000_000_000 }
    return { ...c, sig: new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, pair.privateKey, new Uint8Array(overlayCertSigningBytes(c)))) }
  }
  return { pub, certify }
}

async function triangle(allowed?: (o: string) => boolean) {
  const node = await nodeKeyPair()
  const net = new Net()
  for (const uid of ['a', 'b', 'c']) {
    const k = await generateOverlayKey()
    net.add(uid, k.crypto, node.pub, await node.certify(uid, k.publicKey), allowed)
  }
  for (const [uid, m] of net.members) {
    m.overlay.start()
    m.overlay.addCandidates(['a', 'b', 'c'].filter((u) => u !== uid))
  }
  await net.run(500)
  for (const m of net.members.values()) expect(m.overlay.links.sort()).toHaveLength(2)
  return { net, node, m: (u: string) => net.members.get(u)! }
}

/** Members linked as `edges` says (each edge a pair of uids), nothing else. */
async function linked(edges: Array<[string, string]>, config: Partial<OverlayConfig> = {}) {
  const node = await nodeKeyPair()
  const net = new Net()
  net.config = config
  const uids = [...new Set(edges.flat())]
  for (const uid of uids) {
    const k = await generateOverlayKey()
    net.add(uid, k.crypto, node.pub, await node.certify(uid, k.publicKey))
  }
  for (const [uid, m] of net.members) {
    m.overlay.start()
    m.overlay.addCandidates(edges.filter((e) => e.includes(uid)).map(([x, y]) => (x === uid ? y : x)))
  }
  await net.run(500)
  for (const uid of uids) expect(net.members.get(uid)!.overlay.links).toHaveLength(edges.filter((e) => e.includes(uid)).length)
  return { net, m: (u: string) => net.members.get(u)! }
}

const text = (d: OverlayDelivery) => new TextDecoder().decode(d.body)
const publish = (o: ChannelOverlay, s: string) => o.publish(MessageKind.TEXT, new TextEncoder().encode(s))

describe('channel overlay', () => {
  it('delivers at once the next message of an origin that was silent longer than streamTtlMs (its stream forgotten here), skipping nothing', async () => {
    const { net, m } = await linked([['a', 'b']], { streamTtlMs: 60_000 })
    await publish(m('a').overlay, 'one')
    await net.run(1000)
    await net.run(120_000)
    await publish(m('a').overlay, 'two')
    await net.run(200)
    expect(m('b').got.map(text)).toEqual(['one', 'two'])
    expect(m('b').events.filter((e) => e.type === 'skipped')).toEqual([])
  })

  it('repairs a lost tree push: IHAVE over a pruned link, then GRAFT', async () => {
    const { net, m } = await triangle()
    await publish(m('a').overlay, 'one')
    await net.run(500)
    expect(m('b').got.map(text)).toEqual(['one'])
    expect(m('c').got.map(text)).toEqual(['one'])
    // One of b's two copies was a duplicate: that link is pruned for a's stream.
    expect(m('b').overlay.stats.sent[OverlayFrameType.PRUNE] ?? 0).toBe(1)
    // a's pushes to b are lost from now on: b learns of 'two' from c's announcement and grafts.
    net.filter = (from, to, bytes) => !(from === 'a' && to === 'b' && bytes[0] === OverlayFrameType.GOSSIP)
    await publish(m('a').overlay, 'two')
    await net.run(2000)
    expect(m('b').got.map(text)).toEqual(['one', 'two'])
    expect(m('b').overlay.stats.sent[OverlayFrameType.GRAFT]).toBe(1)
    expect(m('b').got[1]!.hops).toBe(2)
  })

  it('tells a new neighbour of each stream’s latest message, so a member that missed a stream’s last messages gets them', async () => {
    // c and d are members (joined before a sends) whose links to the rest form late: a's last
    // messages went by without them, and no later one will show them the gap.
    const { net, m } = await linked([['a', 'b'], ['c', 'd']])
    await publish(m('a').overlay, 'one')
    await publish(m('a').overlay, 'two')
    await net.run(1000)
    expect(m('b').got.map(text)).toEqual(['one', 'two'])
    expect(m('c').got).toEqual([])
    m('c').overlay.addCandidates(['b'])
    await net.run(5000)
    expect(m('c').overlay.links.sort()).toEqual(['b', 'd'])
    expect(m('c').got.map(text)).toEqual(['one', 'two'])
    expect(m('d').got.map(text)).toEqual(['one', 'two'])
  })

  it('pushes what a member published before it had any link to its first neighbour', async () => {
    const node = await nodeKeyPair()
    const net = new Net()
    for (const uid of ['a', 'b', 'c']) {
      const k = await generateOverlayKey()
      net.add(uid, k.crypto, node.pub, await node.certify(uid, k.publicKey))
    }
    const m = (u: string) => net.members.get(u)!
    for (const mm of net.members.values()) mm.overlay.start()
    // a is alone: its burst goes to nobody, and nothing later will reveal it.
    await publish(m('a').overlay, 'early one')
    await publish(m('a').overlay, 'early two')
    await net.run(200)
    expect(m('a').overlay.linkCount).toBe(0)
    for (const [uid, mm] of net.members) mm.overlay.addCandidates(['a', 'b', 'c'].filter((u) => u !== uid))
    await net.run(1000)
    expect(m('b').got.map(text)).toEqual(['early one', 'early two'])
    expect(m('c').got.map(text)).toEqual(['early one', 'early two'])
    expect(m('b').overlay.stats.sent[OverlayFrameType.PULL] ?? 0).toBe(0)
  })

  it('waits for a link that takes longer to open than a NEIGHBOR request’s timeout, then links', async () => {
    const node = await nodeKeyPair()
    const net = new Net()
    let opening = true
    const held: Array<() => void> = []
    for (const uid of ['a', 'b']) {
      const k = await generateOverlayKey()
      net.add(uid, k.crypto, node.pub, await node.certify(uid, k.publicKey), undefined, uid === 'a' ? (p) => opening && p === 'b' : undefined)
    }
    const a = net.members.get('a')!
    const b = net.members.get('b')!
    // a's link to b opens only after 3× the request timeout (TURN, say): a's frames to b wait for it.
    net.filter = (from, to, bytes) => {
      if (!(opening && from === 'a' && to === 'b')) return true
      held.push(() => b.overlay.receive('a', bytes))
      return false
    }
    b.overlay.start()
    a.overlay.start()
    a.overlay.addCandidates(['b'])
    await net.run(3 * OVERLAY_LIMITS.neighborTimeoutMs)
    expect(held.length).toBeGreaterThan(0)
    opening = false
    for (const deliver of held) deliver()
    a.overlay.linkReady('b')
    await net.run(500)
    expect(a.overlay.links).toEqual(['b'])
    expect(b.overlay.links).toEqual(['a'])
    expect(a.overlay.stats.sent[OverlayFrameType.DISCONNECT] ?? 0).toBe(0)
  })

  it('pulls a message nobody announced once a later one shows the gap, and delivers in order', async () => {
    const { net, m } = await triangle()
    await publish(m('a').overlay, 'one')
    await net.run(500)
    // Everything about a's second message is lost on its way to b.
    net.filter = (_from, to, bytes) => {
      if (to !== 'b') return true
      const f = decodeOverlayFrame(bytes)
      if (f.type === OverlayFrameType.GOSSIP) return f.seq !== 2
      if (f.type === OverlayFrameType.IHAVE) return !f.ids.some((i) => i.seq === 2)
      return true
    }
    await publish(m('a').overlay, 'two')
    await net.run(500)
    // Late pushes of it stay lost; only answers to b's PULL (repairs) get through.
    net.filter = (_from, to, bytes) => {
      const f = decodeOverlayFrame(bytes)
      return to !== 'b' || f.type !== OverlayFrameType.GOSSIP || f.seq !== 2 || f.flags !== 0
    }
    await publish(m('a').overlay, 'three')
    await net.run(200)
    expect(m('b').got.map(text)).toEqual(['one'])
    await net.run(OVERLAY_LIMITS.gapTimeoutMs + 500)
    expect(m('b').overlay.stats.sent[OverlayFrameType.PULL]).toBeGreaterThanOrEqual(1)
    expect(m('b').got.map(text)).toEqual(['one', 'two', 'three'])
    expect(m('c').got.map(text)).toEqual(['one', 'two', 'three'])
  })

  it('skips through a message a copy followed (skipThrough): reported as skipped, its late copy dropped, what came after it delivered', async () => {
    const { net, m } = await triangle()
    await publish(m('a').overlay, 'one')
    await net.run(500)
    let hold = true
    net.filter = (_from, to, bytes) => {
      if (to !== 'b' || !hold) return true
      const f = decodeOverlayFrame(bytes)
      return !(f.type === OverlayFrameType.GOSSIP || f.type === OverlayFrameType.IHAVE)
    }
    await publish(m('a').overlay, 'two')
    await net.run(200)
    expect(m('b').got.map(text)).toEqual(['one'])
    expect(m('b').overlay.passed('a', 's-a', 2)).toBe(false)
    m('b').overlay.skipThrough('a', 's-a', 2)
    expect(m('b').overlay.passed('a', 's-a', 2)).toBe(true)
    expect(m('b').events).toContainEqual({ type: 'skipped', origin: 'a', stream: 's-a', from: 2, to: 2 })
    hold = false
    await publish(m('a').overlay, 'three')
    await net.run(OVERLAY_LIMITS.gapTimeoutMs + 500)
    // 'two' is pushed again by nobody and, when repaired or announced, is a duplicate now.
    expect(m('b').got.map(text)).toEqual(['one', 'three'])
    expect(m('c').got.map(text)).toEqual(['one', 'two', 'three'])
  })

  it('drops a message a forwarder altered, or signed under a key the node did not vouch for, and takes the genuine one', async () => {
    const { net, node, m } = await triangle()
    await publish(m('a').overlay, 'one')
    await net.run(500)
    // c tampers with what it forwards to b; a's own pushes to b are late.
    net.filter = (from, to, bytes) => {
      if (from === 'c' && to === 'b' && bytes[0] === OverlayFrameType.GOSSIP) {
        const f = decodeOverlayFrame(bytes)
        if (f.type === OverlayFrameType.GOSSIP) {
          net.at(1, () => m('b').overlay.receive('c', encodeOverlayFrame({ ...f, body: new TextEncoder().encode('forged') })))
          return false
        }
      }
      if (from === 'a' && to === 'b' && bytes[0] === OverlayFrameType.GOSSIP) {
        net.at(300, () => m('b').overlay.receive('a', bytes))
        return false
      }
      return true
    }
    // b pruned c for a's stream (c's copy came second): b grafts it back, so c forwards to b again.
    m('c').overlay.receive('b', encodeOverlayFrame({ type: OverlayFrameType.GRAFT, channel: 'room', ids: [{ origin: 'a', stream: 's-a', seq: 1 }] }))
    await publish(m('a').overlay, 'two')
    await net.run(1500)
    expect(m('b').got.map(text)).toEqual(['one', 'two'])
    const rejected = m('b').events.filter((e) => e.type === 'rejected')
    expect(rejected.length).toBeGreaterThanOrEqual(1)
    for (const e of rejected) if (e.type === 'rejected') expect(e.error.code).toBe(ErrorCode.INVALID_MESSAGE)

    // A member whose certificate another key signed: its messages go nowhere.
    const rogue = await generateOverlayKey()
    const other = await nodeKeyPair()
    const mallory = net.add('mallory', rogue.crypto, node.pub, await other.certify('mallory', rogue.publicKey))
    net.filter = () => true
    mallory.start()
    mallory.addCandidates(['b'])
    await net.run(500)
    await publish(mallory, 'evil')
    await net.run(1000)
    expect(m('b').got.map(text)).toEqual(['one', 'two'])
    expect(m('c').got.map(text)).toEqual(['one', 'two'])
    expect(m('b').events.some((e) => e.type === 'rejected' && e.from === 'mallory' && e.error.code === ErrorCode.INVALID_MESSAGE)).toBe(true)
  })

  it('moves a stream to a shorter path when a duplicate comes by it, at no extra copy', async () => {
    // A ring a–x–y–d–a: a's first message reaches d over three fast links before the slow direct one.
    const slow = (p: string, q: string) => (p === 'a' && q === 'd') || (p === 'd' && q === 'a')
    const { net, m } = await linked([['a', 'x'], ['x', 'y'], ['y', 'd'], ['d', 'a']])
    net.latency = (p, q) => (slow(p, q) ? 100 : 5)
    await publish(m('a').overlay, 'one')
    await net.run(500)
    expect(m('d').got.map((d) => d.hops)).toEqual([3])
    // The direct copy came second but by 1 hop: d keeps a as its parent and prunes y.
    await publish(m('a').overlay, 'two')
    await net.run(500)
    expect(m('d').got.map((d) => [text(d), d.hops])).toEqual([['one', 3], ['two', 1]])
    // a had pruned d (d's copy reached it second): d grafted it back, naming a message a did not have yet.
    expect(m('d').overlay.stats.sent[OverlayFrameType.GRAFT]).toBe(1)
    expect(m('a').overlay.stats.sent[OverlayFrameType.GOSSIP]).toBe(4) // 'one' and 'two' to x and d, nothing again
    expect(m('d').overlay.stats.duplicates).toBe(1) // the direct copy of 'one' only
    // Without it (adoptShorterBy past any path), d keeps the fast three-hop path.
    const ring = await linked([['a', 'x'], ['x', 'y'], ['y', 'd'], ['d', 'a']], { adoptShorterBy: 99 })
    ring.net.latency = (p, q) => (slow(p, q) ? 100 : 5)
    await publish(ring.m('a').overlay, 'one')
    await publish(ring.m('a').overlay, 'two')
    await ring.net.run(1000)
    expect(ring.m('d').got.map((d) => d.hops)).toEqual([3, 3])
  })

  it('holds a stream’s first message that came by floodHoldFrom hops or more before it goes on, so a shorter path overtakes it; delivers it at once', async () => {
    // A ring a–x–y–d–a: by the fast links a's first message would reach d in 3 hops (15 ms), before the direct slow link (40 ms).
    const slow = (p: string, q: string) => (p === 'a' && q === 'd') || (p === 'd' && q === 'a')
    const { net, m } = await linked([['a', 'x'], ['x', 'y'], ['y', 'd'], ['d', 'a']], { floodHoldFrom: 2, floodHoldMs: 50, adoptShorterBy: 99 })
    net.latency = (p, q) => (slow(p, q) ? 40 : 5)
    await publish(m('a').overlay, 'one')
    await net.run(15)
    // y (2 hops) has it — delivered at once — but holds it 50 ms before it goes on.
    expect(m('y').got.map(text)).toEqual(['one'])
    expect(m('d').got).toHaveLength(0)
    await net.run(500)
    expect(m('d').got.map((d) => d.hops)).toEqual([1])
    // d's copy reached y during the hold: y sent d no copy of its own (an announcement instead).
    expect(m('d').overlay.stats.duplicates).toBe(0)
    // On a line a–x–y–z: the first message waits at y (2 hops), later ones go straight on (the tree carries them).
    const line = await linked([['a', 'x'], ['x', 'y'], ['y', 'z']], { floodHoldFrom: 2, floodHoldMs: 50 })
    line.net.latency = () => 5
    await publish(line.m('a').overlay, 'one')
    await line.net.run(20)
    expect(line.m('z').got).toHaveLength(0)
    await line.net.run(100)
    expect(line.m('z').got.map(text)).toEqual(['one'])
    await publish(line.m('a').overlay, 'two')
    await line.net.run(16)
    expect(line.m('z').got.map(text)).toEqual(['one', 'two'])
    // Without the hold the fast three-hop path wins (floodHoldMs 0).
    const ring = await linked([['a', 'x'], ['x', 'y'], ['y', 'd'], ['d', 'a']], { floodHoldFrom: 2, floodHoldMs: 0, adoptShorterBy: 99 })
    ring.net.latency = (p, q) => (slow(p, q) ? 40 : 5)
    await publish(ring.m('a').overlay, 'one')
    await ring.net.run(500)
    expect(ring.m('d').got.map((d) => d.hops)).toEqual([3])
  })

  it('holds a later message that came by a detour (not the stream’s parent, detourHoldBy hops deeper) until the parent’s copy comes, which then goes on at once', async () => {
    // d's parent for a's stream is p (a–p–d, 2 hops, slow); j reaches d by a–x–y–j–d (4 hops,
    // fast) and keeps pushing to d (d's PRUNEs to j are lost: a member that just joined pushes
    // every stream over every link). e hangs below d.
    const run = async (detourHoldBy: number) => {
      const { net, m } = await linked([['a', 'p'], ['p', 'd'], ['a', 'x'], ['x', 'y'], ['y', 'j'], ['j', 'd'], ['d', 'e']], { detourHoldBy, floodHoldMs: 80 })
      net.latency = (p, q) => ((p === 'p' && q === 'd') || (p === 'd' && q === 'p') ? 50 : 5)
      net.filter = (from, to, bytes) => !(from === 'd' && to === 'j' && decodeOverlayFrame(bytes).type === OverlayFrameType.PRUNE)
      await publish(m('a').overlay, 'one')
      await net.run(1000)
      // d took the 2-hop copy as the stream's parent (it came second, by a shorter path).
      expect(m('d').got.map((d) => d.hops)).toEqual([4])
      await publish(m('a').overlay, 'two')
      await net.run(21)
      // Delivered at once by the detour, whatever the hold.
      expect(m('d').got.map((d) => [text(d), d.hops])).toEqual([['one', 4], ['two', 4]])
      // 66 ms after it was sent (the hold would last until 100 ms).
      await net.run(45)
      return m('e').got.map((d) => [text(d), d.hops])
    }
    // Held: the parent's copy (2 hops) came at 55 ms, within the hold, and went on to e at once.
    expect(await run(2)).toEqual([['one', 5], ['two', 3]])
    // Never held: e gets the detour's depth.
    expect(await run(0)).toEqual([['one', 5], ['two', 5]])
  })

  it('asks a neighbour that announces a held message by a shorter path for it, and lets that copy end the hold', async () => {
    // d's parent for a's stream is p (a–p–d); q (a–q–d) was pruned; j keeps pushing to d by a
    // 4-hop detour (d's PRUNEs to it are lost). p's push of 'two' is lost: the detour's copy is
    // held for a parent's copy that will not come, until q's announcement shows a 2-hop path.
    const { net, m } = await linked([['a', 'p'], ['p', 'd'], ['a', 'q'], ['q', 'd'], ['a', 'x'], ['x', 'y'], ['y', 'j'], ['j', 'd'], ['d', 'e']], { floodHoldMs: 200 })
    const pair = (f: string, t: string) => [f, t].sort().join('')
    net.latency = (f, t) => (pair(f, t) === 'dq' ? 20 : f === 'p' || t === 'p' ? 10 : 3)
    let lose = false
    net.filter = (from, to, bytes) => {
      const type = decodeOverlayFrame(bytes).type
      if (from === 'd' && to === 'j' && type === OverlayFrameType.PRUNE) return false
      return !(lose && from === 'p' && to === 'd' && type === OverlayFrameType.GOSSIP)
    }
    await publish(m('a').overlay, 'one')
    await net.run(1000)
    // d took p's 2-hop copy as the stream's parent (it came after the detour's, by a shorter path).
    expect(m('d').got.map((d) => d.hops)).toEqual([4])
    lose = true
    await publish(m('a').overlay, 'two')
    await net.run(13)
    expect(m('d').got.map((d) => [text(d), d.hops])).toEqual([['one', 4], ['two', 4]])
    // The hold would last until 212 ms; q's announcement (batched for 100 ms) comes at ~123 ms,
    // its answer to the GRAFT at ~163 ms.
    await net.run(160)
    expect(m('e').got.map((d) => [text(d), d.hops])).toEqual([['one', 5], ['two', 3]])
  })

  /**
   * d's parent for a's stream is p (a–p–d, p's links `parentMs` one way); j keeps pushing to d by
   * a 4-hop detour of 3 ms links (d's PRUNEs to it are lost); e hangs below d. After 'one', p's
   * push of the next message to d is lost, and nobody else announces it to d.
   */
  async function parentPushLost(floodHoldMs: number, parentMs: number) {
    const { net, m } = await linked([['a', 'p'], ['p', 'd'], ['a', 'x'], ['x', 'y'], ['y', 'j'], ['j', 'd'], ['d', 'e']], { floodHoldMs })
    net.latency = (f, t) => (f === 'p' || t === 'p' ? parentMs : 3)
    let lose = 0
    net.filter = (from, to, bytes) => {
      const f = decodeOverlayFrame(bytes)
      if (from === 'd' && to === 'j' && f.type === OverlayFrameType.PRUNE) return false
      if (lose > 0 && from === 'p' && to === 'd' && f.type === OverlayFrameType.GOSSIP) return --lose < 0
      return true
    }
    await publish(m('a').overlay, 'one')
    await net.run(1000)
    expect(m('d').got.map((d) => d.hops)).toEqual([4])
    lose = 1
    return { net, m }
  }

  it('asks the stream’s parent for a message held off it at once, so a lost push does not leave the subtree below at the detour’s depth', async () => {
    const { net, m } = await parentPushLost(200, 10)
    const grafts = m('d').overlay.stats.sent[OverlayFrameType.GRAFT] ?? 0
    await publish(m('a').overlay, 'two')
    await net.run(13)
    // Delivered at once by the detour and held (until 212 ms); the GRAFT reaches p at ~22 ms, its repair copy d at ~32 ms.
    expect(m('d').got.map((d) => [text(d), d.hops])).toEqual([['one', 4], ['two', 4]])
    expect(m('e').got).toHaveLength(1)
    await net.run(30)
    expect(m('e').got.map((d) => [text(d), d.hops])).toEqual([['one', 5], ['two', 3]])
    expect(m('d').overlay.stats.sent[OverlayFrameType.GRAFT]).toBe(grafts + 1)
  })

  it('holds a message off its parent for as long as the parent’s answer may take once it asked (not only the hops’ short hold)', async () => {
    // The parent's links are slow (30 ms): its repair copy comes 60 ms after the GRAFT, well
    // after the 20 ms the detour's hops alone would hold it.
    const { net, m } = await parentPushLost(20, 30)
    await publish(m('a').overlay, 'two')
    await net.run(40)
    // The detour's copy came at 12 ms; its own hold would have ended at 32 ms.
    expect(m('d').got.map(text)).toEqual(['one', 'two'])
    expect(m('e').got).toHaveLength(1)
    await net.run(60)
    expect(m('e').got.map((d) => [text(d), d.hops])).toEqual([['one', 5], ['two', 3]])
  })

  it('never holds a message longer than an announcement and a GRAFT take, whatever hops its sender claims', () => {
    const cfg = overlayConfig()
    const most = cfg.ihaveIntervalMs + cfg.graftTimeoutMs
    const first = holdRule(cfg, { first: true, lastHops: 0, offParent: false })!
    const detour = holdRule(cfg, { first: false, lastHops: 3, offParent: true })!
    expect(first(cfg.floodHoldFrom)).toBe(cfg.floodHoldMs)
    expect(detour(3 + cfg.detourHoldBy)).toBe(cfg.floodHoldMs)
    expect(detour(4)).toBe(0)
    const announced = holdRule(cfg, { first: false, lastHops: 3, offParent: false, announced: 2 })!
    expect(announced(2 + cfg.detourHoldBy)).toBe(cfg.floodHoldMs)
    expect(announced(3)).toBe(0)
    for (const hops of [40, 1e6, 2 ** 40]) {
      expect(first(hops)).toBe(most)
      expect(detour(hops)).toBe(most)
      expect(announced(hops)).toBe(most)
    }
    expect(holdRule(cfg, { first: false, lastHops: 3, offParent: false })).toBeNull()
  })

  it('moves a stream to a neighbour that announced a message 2+ hops shorter before the tree brought it, asking for nothing already sent', async () => {
    // d hears a's messages by a–x–y–z–d (4 hops) and from e (a–e–d, 2 hops), which it pruned
    // while e's link was slow; now e's link is fast: e's announcement beats the tree's copy.
    const { net, m } = await linked([['a', 'x'], ['x', 'y'], ['y', 'z'], ['z', 'd'], ['a', 'e'], ['e', 'd']], { adoptShorterBy: 99 })
    let eSlow = true
    net.latency = (p, q) => ((p === 'e' && q === 'd') || (p === 'd' && q === 'e') ? (eSlow ? 300 : 5) : p === 'z' && q === 'd' ? 200 : 5)
    await publish(m('a').overlay, 'one')
    await net.run(1000)
    expect(m('d').got.map((d) => d.hops)).toEqual([4])
    eSlow = false
    await publish(m('a').overlay, 'two')
    await net.run(1000)
    expect(m('d').got.map((d) => d.hops)).toEqual([4, 4])
    expect(m('d').overlay.stats.sent[OverlayFrameType.GRAFT]).toBe(1)
    expect(m('d').overlay.stats.sent[OverlayFrameType.PRUNE]).toBe(2) // e for 'one' (a duplicate), z now
    const eGossip = m('e').overlay.stats.sent[OverlayFrameType.GOSSIP] ?? 0
    await publish(m('a').overlay, 'three')
    await net.run(1000)
    expect(m('d').got.map((d) => [text(d), d.hops])).toEqual([['one', 4], ['two', 4], ['three', 2]])
    // e pushed 'three' to d; it never sent 'two' again for the GRAFT.
    expect((m('e').overlay.stats.sent[OverlayFrameType.GOSSIP] ?? 0) - eGossip).toBe(1)
    expect(m('d').overlay.stats.duplicates).toBe(1) // e's copy of 'one' only
  })

  it('grafts the neighbour nearest the origin as soon as a stream’s parent link goes, before the next message', async () => {
    // d hears a directly; b (1 hop from a) and c (2 hops) are its other neighbours.
    const { net, m } = await linked([['a', 'b'], ['b', 'c'], ['a', 'd'], ['b', 'd'], ['c', 'd']])
    net.latency = (p, q) => (p === 'a' && q === 'd') || (p === 'd' && q === 'a') ? 5 : 20
    await publish(m('a').overlay, 'one')
    await net.run(1000)
    expect(m('d').got.map((d) => d.hops)).toEqual([1])
    const grafts = m('d').overlay.stats.sent[OverlayFrameType.GRAFT] ?? 0
    m('a').overlay.linkDown('d')
    m('d').overlay.linkDown('a')
    expect(m('d').overlay.stats.sent[OverlayFrameType.GRAFT]).toBe(grafts + 1)
    await net.run(100)
    await publish(m('a').overlay, 'two')
    // By the tree at once (a repair would wait for an announcement, then the GRAFT timeout).
    await net.run(60)
    expect(m('d').got.map((d) => [text(d), d.hops])).toEqual([['one', 1], ['two', 2]])
  })

  it('holds a late tree copy that came by 2+ hops more than a path a neighbour announced before it, asks that neighbour, and lets its copy end the hold', async () => {
    // d's parent for a's stream is p (a–x–y–p–d, 4 hops); q (a–q–d, 2 hops) was pruned while its
    // link was slow; e hangs below d. Then the tree's push is late (y–p slow) and q fast: q's
    // announcement reaches d ~200 ms before the tree's copy (d has not asked anyone yet).
    const run = async (detourHoldBy: number) => {
      const { net, m } = await linked([['a', 'x'], ['x', 'y'], ['y', 'p'], ['p', 'd'], ['a', 'q'], ['q', 'd'], ['d', 'e']], { detourHoldBy, adoptShorterBy: 99, shortenBy: 99 })
      const pair = (f: string, t: string) => [f, t].sort().join('')
      let late = false
      net.latency = (f, t) => (pair(f, t) === 'dq' ? (late ? 5 : 300) : pair(f, t) === 'py' && late ? 300 : 5)
      await publish(m('a').overlay, 'one')
      await net.run(1000)
      expect(m('d').got.map((d) => d.hops)).toEqual([4])
      late = true
      const qGossip = m('q').overlay.stats.sent[OverlayFrameType.GOSSIP] ?? 0
      await publish(m('a').overlay, 'two')
      await net.run(1000)
      expect(m('d').got.map((d) => [text(d), d.hops])).toEqual([['one', 4], ['two', 4]])
      return { e: m('e').got.map((d) => [text(d), d.hops]), qSent: (m('q').overlay.stats.sent[OverlayFrameType.GOSSIP] ?? 0) - qGossip }
    }
    // Held: q's copy (asked for when the tree's came) ends the hold; e gets 'two' by q's path.
    expect(await run(2)).toEqual({ e: [['one', 5], ['two', 3]], qSent: 1 })
    // Never held: e gets the late tree's depth, and q sends nothing.
    expect(await run(0)).toEqual({ e: [['one', 5], ['two', 5]], qSent: 0 })
  })

  it('applies mutes at every hop', async () => {
    const { net, m } = await triangle((origin) => origin !== 'a')
    await publish(m('a').overlay, 'muted')
    await publish(m('c').overlay, 'fine')
    await net.run(1000)
    expect(m('b').got.map(text)).toEqual(['fine'])
    expect(m('b').events.some((e) => e.type === 'rejected' && e.error.code === ErrorCode.NOT_PERMITTED)).toBe(true)
  })
})
