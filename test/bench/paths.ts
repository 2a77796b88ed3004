/**
 * Measurements of one message path at a time, in this process: peer round trips (raw data channel,
 * Plaza direct, Plaza relay, Socket.IO) and direct-link bulk throughput (raw data channel, Plaza).
 * Used by rtt.bench.ts, bulk.bench.ts and fastpath.bench.ts.
 */
import { resolve } from 'node:path'
import wrtc from '@roamhq/wrtc'
import { io as ioClient, type Socket } from 'socket.io-client'
import { PeerMessageState, type PlazaClient } from '@plaza/client'
import { linkOpen, loggedIn } from '../helpers/clients.js'
import type { RendezvousProcess } from '../helpers/rendezvous.js'
import { median, rotate, sleep } from './lib.js'
import { startServer } from './procs.js'
import { stats, type Stats } from './report.js'

/**
 * A node that lets any two logged-in users open a direct link. Its default policy (contacts: a
 * shared channel, or messages both ways) would keep a one-way sender on the relay. Its message
 * rate limit is not what is measured either.
 */
export const DIRECT_NODE_ARGS = ['--link-policy', 'always', '--rate-limit', 'messages=100000000/1000']

/** 32 bytes of text, on every path. */
export const PAYLOAD = 'x'.repeat(32)

/** Two @roamhq/wrtc peer connections on loopback with one ordered, reliable data channel; `onB` sees b's end. */
export async function rawPair(onB: (ch: RTCDataChannel) => void): Promise<{ ch: RTCDataChannel; close(): void }> {
  const a = new wrtc.RTCPeerConnection()
  const b = new wrtc.RTCPeerConnection()
  a.onicecandidate = (e) => e.candidate && void b.addIceCandidate(e.candidate)
  b.onicecandidate = (e) => e.candidate && void a.addIceCandidate(e.candidate)
  b.ondatachannel = (e) => {
    e.channel.binaryType = 'arraybuffer'
    onB(e.channel)
  }
  const ch = a.createDataChannel('bench', { ordered: true })
  ch.binaryType = 'arraybuffer'
  const opened = new Promise<void>((r) => (ch.onopen = () => r()))
  const offer = await a.createOffer()
  await a.setLocalDescription(offer)
  await b.setRemoteDescription(offer)
  const answer = await b.createAnswer()
  await b.setLocalDescription(answer)
  await a.setRemoteDescription(answer)
  await opened
  return {
    ch,
    close: () => {
      a.close()
      b.close()
    },
  }
}

// --- round trips ------------------------------------------------------------------------------

export type RttPath = 'floor' | 'direct' | 'relay' | 'socketio'
export const RTT_PATHS: RttPath[] = ['floor', 'direct', 'relay', 'socketio']
/** Round trips per path before each round's measured ones (the JIT has compiled the code by then). */
export const RTT_WARMUP = 200
export const RTT_NAMES: Record<RttPath, string> = {
  floor: 'raw @roamhq/wrtc data channel, echo (the floor)',
  direct: 'Plaza direct (WebRTC, with acknowledgement)',
  relay: 'Plaza relay (through the rendezvous)',
  socketio: 'Socket.IO server relay, acknowledged through it',
}

async function timed(n: number, warmup: number, once: (i: number) => Promise<void>): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < warmup + n; i++) {
    const t0 = performance.now()
    await once(i)
    if (i >= warmup) samples.push(performance.now() - t0)
  }
  return samples
}

/** Round trips in a row when the raw channel and Plaza direct take turns (see rttRounds). */
const PAIRED_BLOCK = 50

/** Two Plaza clients with `tag`; with `direct`, their direct link open. */
async function plazaPair(node: RendezvousProcess, tag: string, direct: boolean) {
  // The SDK's own message rate limit is not what is measured.
  const opts = { messageRateLimit: { count: 1_000_000, windowMs: 1000 }, ...(direct ? {} : { directLinks: false }) }
  const a = await loggedIn(node, `${tag}-a`, opts)
  const b = await loggedIn(node, `${tag}-b`, opts)
  const expect = direct ? 'direct' : 'relay'
  if (direct) {
    await a.sendMessageToPeer({ text: 'open the link' }, `${tag}-b`)
    await linkOpen(a, `${tag}-b`)
  }
  return {
    once: async (i: number) => {
      const r = await a.sendMessageToPeer({ text: PAYLOAD }, `${tag}-b`)
      if (r.state !== PeerMessageState.RECEIVED_BY_PEER || r.path !== expect) throw new Error(`message ${i}: ${r.state} via ${r.path}, expected ${expect}`)
    },
    logout: () => Promise.all([a.logout(), b.logout()].map((p) => p.catch(() => undefined))),
  }
}

async function plazaRtt(node: RendezvousProcess, tag: string, direct: boolean, n: number, warmup: number): Promise<number[]> {
  const pair = await plazaPair(node, tag, direct)
  try {
    return await timed(n, warmup, pair.once)
  } finally {
    await pair.logout()
  }
}

/**
 * The raw channel and Plaza direct measured together: both warmed up, then PAIRED_BLOCK round
 * trips of one, PAIRED_BLOCK of the other, and so on (which goes first alternates), so that both
 * see the machine in the same state; Plaza's two clients stay logged in throughout.
 */
async function pairedRtt(node: RendezvousProcess, floorOnce: () => Promise<void>, tag: string, n: number, warmup: number, r: number): Promise<{ floor: number[]; direct: number[] }> {
  const pair = await plazaPair(node, tag, true)
  try {
    await timed(0, warmup, floorOnce)
    await timed(0, warmup, pair.once)
    const floor: number[] = []
    const direct: number[] = []
    for (let done = 0, k = r; done < n; done += PAIRED_BLOCK, k++) {
      const m = Math.min(PAIRED_BLOCK, n - done)
      const runs = [async () => floor.push(...(await timed(m, 0, floorOnce))), async () => direct.push(...(await timed(m, 0, pair.once)))]
      for (const run of k % 2 === 0 ? runs : runs.reverse()) await run()
    }
    return { floor, direct }
  } finally {
    await pair.logout()
  }
}

export interface RttRound {
  path: Record<RttPath, Stats>
}

export interface RttRun {
  rounds: RttRound[]
  /** The raw channel and Plaza direct before the process warm-up (in the rtt bench: a process that has run no Plaza code yet). */
  cold: { floor: Stats; direct: Stats }
}

/**
 * `rounds` rounds of `n` round trips per path, one at a time, after `warmup`. In each round the
 * raw channel and Plaza direct (the pair the goals compare) take turns in blocks (pairedRtt); the
 * Plaza relay and Socket.IO go before or after them (the order rotated each round), each alone:
 * Plaza's clients log in for their own path only and log out after it, so Socket.IO runs with no
 * Plaza client in the process.
 */
export async function rttRounds(node: RendezvousProcess, rounds: number, n: number, warmup = RTT_WARMUP): Promise<RttRun> {
  const raw = await rawPair((ch) => (ch.onmessage = (m) => ch.send(m.data as string)))
  const server = await startServer([process.execPath, resolve(__dirname, 'servers/socketio-relay.mjs')])
  const connect = async (uid: string) => {
    const s: Socket = ioClient(`http://127.0.0.1:${server.port}`, { transports: ['websocket'] })
    await new Promise<void>((r) => s.once('connect', () => r()))
    s.emit('join', uid)
    return s
  }
  const sa = await connect('a')
  const sb = await connect('b')
  sb.on('msg', (from: string, payload: string) => sb.emit('msg', from, `ack:${payload.length}`))
  await sleep(100) // let both joins land
  const floorOnce = () =>
    new Promise<void>((r) => {
      raw.ch.onmessage = () => r()
      raw.ch.send(PAYLOAD)
    })
  const out: RttRound[] = []
  try {
    // A cold process first (for information), then the warm-up the rounds start from.
    const cold = await pairedRtt(node, floorOnce, 'rtt-cold', n, 0, 0)
    await processWarmup(node, floorOnce)
    for (let r = 0; r < rounds; r++) {
      const path = {} as Record<RttPath, Stats>
      const run: Record<'paired' | 'relay' | 'socketio', () => Promise<void>> = {
        paired: async () => {
          const { floor, direct } = await pairedRtt(node, floorOnce, `rtt-d${r}`, n, warmup, r)
          path.floor = stats(floor)
          path.direct = stats(direct)
        },
        relay: async () => void (path.relay = stats(await plazaRtt(node, `rtt-r${r}`, false, n, warmup))),
        socketio: async () =>
          void (path.socketio = stats(
            await timed(n, warmup, () => new Promise<void>((res) => {
              sa.once('msg', () => res())
              sa.emit('msg', 'b', PAYLOAD)
            })),
          )),
      }
      for (const p of rotate(['paired', 'relay', 'socketio'] as const, r)) await run[p]()
      out.push({ path })
    }
    return { rounds: out, cold: { floor: stats(cold.floor), direct: stats(cold.direct) } }
  } finally {
    sa.close()
    sb.close()
    server.stop()
    raw.close()
  }
}

/**
 * Round trips on each path before the rounds, once per process: until V8 has compiled the SDK's
 * code, a few thousand messages in, Plaza's round trips have a longer tail (see RttRun.cold).
 */
export const PROCESS_WARMUP = 5000

async function processWarmup(node: RendezvousProcess, floorOnce: () => Promise<void>): Promise<void> {
  const direct = await plazaPair(node, 'rtt-warm-d', true)
  const relay = await plazaPair(node, 'rtt-warm-r', false)
  try {
    for (let i = 0; i < PROCESS_WARMUP; i++) {
      await floorOnce()
      await direct.once(i)
      if (i % 5 === 0) await relay.once(i)
    }
  } finally {
    await direct.logout()
    await relay.logout()
  }
}

/** Per path: median over rounds of its median, p99, and their ratios to the same round's floor. */
export function rttSummary({ rounds }: RttRun): Record<RttPath, { median: number; p99: number; medianRatio: number; p99Ratio: number; n: number }> {
  const out = {} as ReturnType<typeof rttSummary>
  for (const p of RTT_PATHS) {
    out[p] = {
      n: rounds.reduce((s, r) => s + r.path[p].n, 0),
      median: median(rounds.map((r) => r.path[p].median)),
      p99: median(rounds.map((r) => r.path[p].p99)),
      medianRatio: median(rounds.map((r) => r.path[p].median / r.path.floor.median)),
      p99Ratio: median(rounds.map((r) => r.path[p].p99 / r.path.floor.p99)),
    }
  }
  return out
}

// --- bulk throughput over a direct link -------------------------------------------------------

/** The SDK's send window (messages and bytes unacknowledged), the most an app usefully keeps in flight. */
const SDK_WINDOW_MESSAGES = 256
const SDK_WINDOW_BYTES = 1024 * 1024
/** The raw channel's flow control: @roamhq/wrtc never fires bufferedamountlow and drops past ~16 MiB buffered. */
const RAW_HIGH_WATER = 1024 * 1024

export interface BulkRound {
  size: number
  raw: number
  plaza: number
}

/**
 * Direct-link bulk throughput (MB/s, bytes delivered at the receiver / time), `total` bytes per
 * path per round in messages of each size: a raw data channel with bufferedAmount polling against
 * Plaza RAW peer messages with up to the SDK's window unacknowledged. Paths alternate each round.
 */
export async function bulkRounds(node: RendezvousProcess, rounds: number, sizes: number[], total: number): Promise<BulkRound[]> {
  let rawGot = 0
  let rawWant = 0
  let rawDone: (() => void) | null = null
  const raw = await rawPair((ch) => {
    ch.onmessage = (m) => {
      rawGot += (m.data as ArrayBuffer).byteLength
      if (rawGot >= rawWant) rawDone?.()
    }
  })
  const a = await loggedIn(node, 'bulk-a', { messageRateLimit: { count: 100_000_000, windowMs: 1000 }, messageTimeoutMs: 120_000 })
  const b = await loggedIn(node, 'bulk-b', { messageRateLimit: { count: 100_000_000, windowMs: 1000 } })
  let got = 0
  let want = 0
  let done: (() => void) | null = null
  b.on('MessageFromPeer', (m) => {
    if (m.messageType === 'RAW') got += m.rawMessage.length
    if (got >= want) done?.()
  })
  await a.sendMessageToPeer({ text: 'open the link' }, 'bulk-b')
  await linkOpen(a, 'bulk-b')

  const rawRun = async (size: number) => {
    const chunk = new Uint8Array(size).fill(7)
    const count = Math.ceil(total / size)
    rawGot = 0
    rawWant = count * size
    const finished = new Promise<void>((r) => (rawDone = r))
    const t0 = performance.now()
    for (let i = 0; i < count; ) {
      if (raw.ch.bufferedAmount < RAW_HIGH_WATER) {
        raw.ch.send(chunk)
        i++
      } else await new Promise((r) => setTimeout(r, 1))
    }
    await finished
    return rawWant / 1e6 / ((performance.now() - t0) / 1000)
  }
  const plazaRun = async (client: PlazaClient, size: number) => {
    const bytes = new Uint8Array(size).fill(7)
    const count = Math.ceil(total / size)
    const inFlightMax = Math.min(SDK_WINDOW_MESSAGES, Math.floor(SDK_WINDOW_BYTES / size))
    got = 0
    want = count * size
    const finished = new Promise<void>((r) => (done = r))
    const t0 = performance.now()
    let sent = 0
    let bad = 0
    await new Promise<void>((resolveAll) => {
      let inFlight = 0
      const pump = () => {
        while (inFlight < inFlightMax && sent < count) {
          sent++
          inFlight++
          client.sendMessageToPeer({ messageType: 'RAW', rawMessage: bytes }, 'bulk-b').then((r) => {
            if (r.state !== PeerMessageState.RECEIVED_BY_PEER || r.path !== 'direct') bad++
            inFlight--
            pump()
          })
        }
        if (sent === count && inFlight === 0) resolveAll()
      }
      pump()
    })
    await finished
    if (bad) console.log(`bulk: ${bad} of ${count} Plaza messages not RECEIVED_BY_PEER over the direct link`)
    return want / 1e6 / ((performance.now() - t0) / 1000)
  }
  const out: BulkRound[] = []
  try {
    for (let r = 0; r < rounds; r++) {
      for (const size of sizes) {
        const row: BulkRound = { size, raw: 0, plaza: 0 }
        for (const p of rotate(['raw', 'plaza'] as const, r)) row[p] = p === 'raw' ? await rawRun(size) : await plazaRun(a, size)
        out.push(row)
      }
    }
  } finally {
    raw.close()
    await Promise.all([a.logout(), b.logout()].map((p) => p.catch(() => undefined)))
  }
  return out
}

/** Per size: median over rounds of raw MB/s, Plaza MB/s and of the ratio Plaza / raw in the same round. */
export function bulkSummary(rounds: BulkRound[]): { size: number; raw: number; plaza: number; ratio: number; rounds: number }[] {
  const sizes = [...new Set(rounds.map((r) => r.size))]
  return sizes.map((size) => {
    const rs = rounds.filter((r) => r.size === size)
    return { size, rounds: rs.length, raw: median(rs.map((r) => r.raw)), plaza: median(rs.map((r) => r.plaza)), ratio: median(rs.map((r) => r.plaza / r.raw)) }
  })
}
