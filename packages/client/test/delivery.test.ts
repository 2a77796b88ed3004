import { describe, expect, it } from 'vitest'
import { MessageKind, PeerFrameType, PeerMessageState, RelayStatus, decodePeerFrame } from '@plaza/protocol'
import { Inbox } from '../src/delivery/inbox.js'
import { PeerOutbox, type SendResult } from '../src/delivery/outbox.js'

/** mulberry32: a seeded PRNG, so a failing seed can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * One sender, one receiver, two paths (direct and relay) that drop, delay, reorder and
 * duplicate; the direct path comes and goes. Every message must reach the app exactly once
 * and in order, and every send must settle RECEIVED_BY_PEER.
 */
async function simulate(seed: number, count: number) {
  const rand = prng(seed)
  const delay = (fn: () => void) => setTimeout(fn, Math.floor(rand() * 8))
  let directUp = false
  const flip = setInterval(() => (directUp = rand() < 0.5), 15)
  const delivered: string[] = []
  const lossy = (fn: () => void) => {
    if (rand() < 0.2) return // lost
    delay(fn)
    if (rand() < 0.05) delay(fn) // duplicated
  }
  const inbox = new Inbox(
    (_from, f) => delivered.push(f.text),
    (_from, _stream, upTo) => lossy(() => outbox.onAck(upTo, Date.now())),
  )
  const receive = (bytes: Uint8Array) => {
    const f = decodePeerFrame(bytes)
    if (f.type === PeerFrameType.MESSAGE) inbox.onMessage('sender', f, { path: 'direct', serverTs: 0 })
  }
  const outbox = new PeerOutbox(
    'receiver',
    'stream-1',
    {
      direct: (_uid, bytes) => {
        if (!directUp) return false
        lossy(() => receive(bytes))
        return true
      },
      relay: (_uid, bytes) =>
        new Promise((resolve) => {
          lossy(() => receive(bytes))
          delay(() => resolve(RelayStatus.RELAYED))
        }),
      peerReachable: () => undefined,
      peerGone: () => undefined,
    },
    { timeoutMs: 60_000, retransmitMs: 40, windowMessages: 32, windowBytes: 1 << 20, recoveryMessages: 32 },
  )
  const tick = setInterval(() => outbox.tick(Date.now()), 10)
  const sends: Promise<SendResult>[] = []
  for (let i = 0; i < count; i++) {
    const text = String(i)
    sends.push(outbox.send({ channel: '', kind: MessageKind.TEXT, text, bytes: new Uint8Array(0), description: '' }, text.length, Date.now(), { offline: false }))
    if (rand() < 0.1) await new Promise((r) => setTimeout(r, 1))
  }
  const results = await Promise.all(sends)
  clearInterval(flip)
  clearInterval(tick)
  return { delivered, results }
}

describe('delivery over lossy, reordering paths', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`delivers every message exactly once and in order (seed ${seed})`, async () => {
      const { delivered, results } = await simulate(seed, 400)
      expect(delivered).toEqual(Array.from({ length: 400 }, (_, i) => String(i)))
      expect(results.every((r) => r.state === PeerMessageState.RECEIVED_BY_PEER)).toBe(true)
    })
  }
})

describe('Inbox', () => {
  const msg = (seq: number, floor: number) => ({
    type: PeerFrameType.MESSAGE as const,
    stream: 's',
    channel: '',
    seq,
    floor,
    sentTs: 0,
    kind: MessageKind.TEXT,
    text: String(seq),
    bytes: new Uint8Array(0),
    description: '',
  })

  it('skips seqs below a raised floor (the sender gave up on them) and drops them if they come late', () => {
    const got: string[] = []
    const inbox = new Inbox((_f, m) => got.push(m.text), () => undefined)
    inbox.onMessage('a', msg(1, 1), { path: 'relay', serverTs: 0 })
    inbox.onMessage('a', msg(3, 2), { path: 'relay', serverTs: 0 }) // waits for 2
    expect(got).toEqual(['1'])
    inbox.onMessage('a', msg(4, 3), { path: 'relay', serverTs: 0 }) // 2 given up
    expect(got).toEqual(['1', '3', '4'])
    inbox.onMessage('a', msg(2, 1), { path: 'relay', serverTs: 0 }) // too late
    expect(got).toEqual(['1', '3', '4'])
  })

  it('acknowledges duplicates so the sender stops', () => {
    const acks: number[] = []
    const inbox = new Inbox(() => undefined, (_f, _s, upTo) => acks.push(upTo))
    inbox.onMessage('a', msg(1, 1), { path: 'relay', serverTs: 0 })
    inbox.onMessage('a', msg(1, 1), { path: 'direct', serverTs: 0 })
    expect(acks).toEqual([1, 1])
  })

  it('holds at most 256 out-of-order messages per stream; a resend fills in what was dropped', () => {
    const got: string[] = []
    const inbox = new Inbox((_f, m) => got.push(m.text), () => undefined)
    const msgOf = (stream: string, seq: number) => ({ ...msg(seq, 1), stream })
    for (let seq = 2; seq <= 400; seq++) inbox.onMessage('a', msgOf('s', seq), { path: 'relay', serverTs: 0 })
    inbox.onMessage('a', msgOf('s', 1), { path: 'relay', serverTs: 0 })
    expect(got.length).toBe(257) // 1, then the 256 held
    for (let seq = 258; seq <= 400; seq++) inbox.onMessage('a', msgOf('s', seq), { path: 'relay', serverTs: 0 })
    expect(got).toEqual(Array.from({ length: 400 }, (_, i) => String(i + 1)))
  })

  it('holds at most 4096 out-of-order messages across all streams', () => {
    const got: string[] = []
    const inbox = new Inbox((_f, m) => got.push(m.text), () => undefined)
    // A hostile peer opens 20 streams and fills each with 256 messages that can never be delivered.
    for (let s = 0; s < 20; s++) {
      for (let seq = 2; seq <= 257; seq++) inbox.onMessage('evil', { ...msg(seq, 1), stream: `s${s}` }, { path: 'relay', serverTs: 0 })
    }
    // Releasing every gap delivers exactly what was held: 16 streams' worth, not 20.
    for (let s = 0; s < 20; s++) inbox.onMessage('evil', { ...msg(1, 1), stream: `s${s}` }, { path: 'relay', serverTs: 0 })
    expect(got.length).toBe(20 + 4096)
  })

  it('keeps streams of different senders apart', () => {
    const got: string[] = []
    const inbox = new Inbox((from, m) => got.push(`${from}:${m.text}`), () => undefined)
    inbox.onMessage('a', msg(1, 1), { path: 'relay', serverTs: 0 })
    inbox.onMessage('b', msg(1, 1), { path: 'relay', serverTs: 0 })
    expect(got).toEqual(['a:1', 'b:1'])
  })
})


describe('PeerOutbox recovery window', () => {
  it('keeps at most recoveryMessages channel copies past the send timeout, the newest ones', async () => {
    const outbox = new PeerOutbox(
      'away',
      's',
      { direct: () => false, relay: () => new Promise(() => undefined), peerReachable: () => undefined, peerGone: () => undefined },
      { timeoutMs: 100, retransmitMs: 10_000, windowMessages: 256, windowBytes: 1 << 20, recoveryMessages: 3 },
    )
    const t0 = 1_000_000
    const body = (i: number) => ({ channel: 'room', kind: MessageKind.TEXT, text: String(i), bytes: new Uint8Array(0), description: '' })
    const results = Array.from({ length: 5 }, (_, i) => outbox.send(body(i), 1, t0, { offline: false, timeoutMs: 30_000, recoverable: true }))
    const peer = outbox.send({ ...body(9), channel: '' }, 1, t0, { offline: false })
    outbox.tick(t0 + 50) // within the send timeout: all kept
    outbox.tick(t0 + 200) // past it: the peer message times out, channel copies are capped at 3
    const settled = await Promise.all([...results.slice(0, 2), peer])
    expect(settled.map((r) => r.state)).toEqual([PeerMessageState.SENT_TIMEOUT, PeerMessageState.SENT_TIMEOUT, PeerMessageState.SENT_TIMEOUT])
    outbox.tick(t0 + 30_001) // past the recovery window: the rest go too
    expect((await Promise.all(results.slice(2))).map((r) => r.state)).toEqual(Array(3).fill(PeerMessageState.SENT_TIMEOUT))
  })
})
