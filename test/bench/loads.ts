/**
 * Loads from other processes against servers in their own processes: relay through each system's
 * client (Plaza SDK, Socket.IO client, raw ws), a 16-member channel broadcast, idle sessions.
 * Used by relay.bench.ts, broadcast.bench.ts, capacity.bench.ts and fastpath.bench.ts.
 */
import { resolve } from 'node:path'
import { startRendezvous, stopRendezvous, MANY_CONNECTIONS, type RendezvousProcess } from '../helpers/rendezvous.js'
import { child, cpuOf, freePort, gcProbeEnv, memoryAfterGc, metric, sleep, startProbedRendezvous, type GcMemory } from './lib.js'
import { startServer } from './procs.js'
import { stats, type Stats } from './report.js'

// --- relay through the client library ---------------------------------------------------------

export type RelayKind = 'plaza' | 'sio' | 'ws'
export const RELAY_NAMES: Record<RelayKind, string> = {
  plaza: 'Plaza node, Plaza client SDK (directLinks off)',
  sio: 'Socket.IO relay server, Socket.IO client',
  ws: 'raw ws relay server, raw ws client',
}

export interface RelayServer {
  kind: RelayKind
  url: string
  pid: number
  stop(): Promise<void> | void
}

/** Node flags so that the relay load is never refused by a rate limit. */
export const RELAY_NODE_ARGS = [...MANY_CONNECTIONS, '--rate-limit', 'messages=100000000/1000', '--rate-limit', 'channelRelay=100000000/1000']

export async function startRelayServers(kinds: RelayKind[] = ['plaza', 'sio', 'ws']): Promise<Record<RelayKind, RelayServer>> {
  const out = {} as Record<RelayKind, RelayServer>
  for (const kind of kinds) {
    if (kind === 'plaza') {
      const node = await startRendezvous({ args: RELAY_NODE_ARGS })
      out.plaza = { kind, url: node.url, pid: node.proc.pid!, stop: () => stopRendezvous(node) }
    } else {
      const s = await startServer([process.execPath, resolve(__dirname, kind === 'sio' ? 'servers/socketio-relay.mjs' : 'servers/ws-relay.mjs')])
      out[kind] = { kind, url: kind === 'sio' ? `http://127.0.0.1:${s.port}` : `ws://127.0.0.1:${s.port}`, pid: s.proc.pid!, stop: () => s.stop() }
    }
  }
  return out
}

export interface RelayRun {
  perSecond: number
  acked: number
  failed: number
  /** Server CPU (user + system, /proc) per acknowledged message, µs. */
  cpuUs: number
  /** Server CPU time / wall time during the run. */
  cpuShare: number
}

/**
 * `pairs` senders in one process → `pairs` receivers in another, through `server`; each sender
 * sends `count` messages of `size` bytes with at most `window` unacknowledged, as fast as it can
 * or at `rate` messages/s in all. Timed from "go" to the last acknowledgement.
 */
export async function relayRun(server: RelayServer, o: { pairs: number; count: number; size: number; window?: number; rate?: number; prefix: string }): Promise<RelayRun> {
  const args = { kind: server.kind, url: server.url, ...o }
  const recv = child('servers/relay-load.mjs', [JSON.stringify({ ...args, role: 'recv' })])
  let send: ReturnType<typeof child> | undefined
  try {
    await recv.next() // receivers first: a Socket.IO or ws message to a user not there yet is lost
    send = child('servers/relay-load.mjs', [JSON.stringify({ ...args, role: 'send' })])
    await send.next()
    await sleep(200)
    const cpu0 = cpuOf(server.pid)
    const t0 = performance.now()
    send.write('go')
    const r = await send.next<{ acked: number; failed: number; seconds: number; perSecond: number }>(600_000)
    const cpu = cpuOf(server.pid) - cpu0
    const wall = (performance.now() - t0) / 1000
    return { perSecond: r.perSecond, acked: r.acked, failed: r.failed, cpuUs: (cpu / r.acked) * 1e6, cpuShare: cpu / wall }
  } finally {
    await Promise.all([recv.kill(), send?.kill()])
  }
}

// --- 16-member channel broadcast --------------------------------------------------------------

export interface BroadcastRun {
  perSecond: number
  lat: Stats
  delivered: number
  /** Channel-message copies the node relayed (plaza_messages_relayed_total{kind="channel"}) during the run. */
  relayed: number
  /** Acknowledgements the node relayed during the run. */
  acks: number
  /** Copies whose send did not end RECEIVED_BY_PEER. */
  failures: number
}

export const BROADCAST_NODE_ARGS = ['--rate-limit', 'channelRelay=1000000/1000']

/**
 * `members` members (one process each, test/bench/servers/channel-member.mjs) join a channel and
 * all send `perMember` timestamped messages at once, 20 per 1 ms tick, without waiting for each
 * to be acknowledged. Deliveries/s from "go" until every member has every other member's messages.
 */
export async function broadcastRun(node: RendezvousProcess, tag: string, o: { members: number; perMember: number; directLinks: boolean }): Promise<BroadcastRun> {
  const { members, perMember, directLinks } = o
  const room = `bench-room-${tag}`
  const procs = Array.from({ length: members }, (_, i) =>
    child('servers/channel-member.mjs', [JSON.stringify({ url: node.url, uid: `${tag}-${i}`, channel: room, members, count: perMember, perTick: 20, directLinks })]),
  )
  try {
    await Promise.all(procs.map((p) => p.next()))
    // Warm up: a few messages each so that the links (or the relay paths) exist before measuring.
    for (const p of procs) p.write('warm')
    await Promise.all(procs.map((p) => p.next()))
    await sleep(directLinks ? 5000 : 1000)
    const relayed0 = await metric(node, 'plaza_messages_relayed_total', 'kind="channel"')
    const acks0 = await metric(node, 'plaza_messages_relayed_total', 'kind="ack"')
    const t0 = Date.now()
    for (const p of procs) p.write('go')
    const done = await Promise.all(procs.map((p) => p.next<{ received: number; lat: number[]; failures: number }>(600_000)))
    const seconds = (Date.now() - t0) / 1000
    // Copies still in flight (retransmissions) count too: wait until the counter stands still.
    let relayed = await metric(node, 'plaza_messages_relayed_total', 'kind="channel"')
    for (let i = 0; i < 20; i++) {
      await sleep(500)
      const now = await metric(node, 'plaza_messages_relayed_total', 'kind="channel"')
      if (now === relayed) break
      relayed = now
    }
    const acks = (await metric(node, 'plaza_messages_relayed_total', 'kind="ack"')) - acks0
    const lat = done.flatMap((d) => d.lat)
    return { perSecond: lat.length / seconds, lat: stats(lat), delivered: lat.length, relayed: relayed - relayed0, acks, failures: done.reduce((s, d) => s + d.failures, 0) }
  } finally {
    await Promise.all(procs.map((p) => p.kill()))
  }
}

// --- idle sessions -------------------------------------------------------------------------

export type SessionKind = 'plaza' | 'ywebrtc' | 'peerjs'

export interface SessionServer {
  name: string
  kind: SessionKind
  url: string
  pid: number
  stop(): Promise<void> | void
}

const root = resolve(__dirname, '../..')

/**
 * The signaling servers, each its own process carrying the GC probe (gc-probe.cjs). Plaza's node lets
 * any two users signal each other (its default policy refuses signaling between strangers).
 */
export async function startSessionServers(kinds: SessionKind[] = ['plaza', 'ywebrtc', 'peerjs']): Promise<SessionServer[]> {
  const out: SessionServer[] = []
  for (const kind of kinds) {
    if (kind === 'plaza') {
      const node = await startProbedRendezvous({ args: [...MANY_CONNECTIONS, '--rate-limit', 'signaling=10000000/1000', '--link-policy', 'always'] })
      out.push({ name: 'Plaza rendezvous', kind, url: node.url, pid: node.proc.pid!, stop: () => stopRendezvous(node) })
    } else if (kind === 'ywebrtc') {
      const port = await freePort()
      const y = await startServer([process.execPath, resolve(root, 'node_modules/y-webrtc/bin/server.js')], { PORT: String(port), ...gcProbeEnv() }, /running on localhost:\s*(\d+)/)
      out.push({ name: 'y-webrtc signaling', kind, url: `ws://127.0.0.1:${port}`, pid: y.proc.pid!, stop: () => y.stop() })
    } else {
      const port = await freePort()
      const p = await startServer(
        [process.execPath, resolve(root, 'node_modules/peer/dist/bin/peerjs.js'), '--port', String(port), '--host', '127.0.0.1', '-c', '1000000'],
        gcProbeEnv(),
        /Started PeerServer on .*port: (\d+)/,
      )
      out.push({ name: 'peerjs-server', kind, url: `ws://127.0.0.1:${port}`, pid: p.proc.pid!, stop: () => p.stop() })
    }
  }
  return out
}

export interface IdleRun {
  held: number
  before: GcMemory
  after: GcMemory
  /** Growth of heap used + external (array buffers included) after a full GC, per session. */
  perSession: number
  /** Growth of RSS (read after the same GC) per session. */
  rssPerSession: number
}

const js = (m: GcMemory) => m.heapUsed + m.external

/** Holds `sessions` idle sessions from the load generator; memory after a full GC before and with them. */
export async function idleRun(s: SessionServer, sessions: number): Promise<IdleRun> {
  const before = await memoryAfterGc(s.pid)
  const held = child('servers/loadgen.mjs', ['sessions', s.kind, s.url, String(sessions)])
  try {
    const line = await held.next<{ ready: number }>(300_000)
    await sleep(3000) // let the server settle after the burst (Plaza: a few pings each)
    const after = await memoryAfterGc(s.pid)
    return { held: line.ready, before, after, perSession: (js(after) - js(before)) / line.ready, rssPerSession: (after.rss - before.rss) / line.ready }
  } finally {
    // Plaza's sessions log out: the server is empty again for a next round.
    await held.end()
    await sleep(1000)
  }
}
