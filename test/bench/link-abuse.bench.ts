/**
 * A hostile member against @roamhq/wrtc's close race (README, "How a message travels"): it sends
 * frames past SCTP's maximum message size straight on its data channels every 5 ms, so each of
 * its links closes under the other end at once, without BYE. Three honest members, each its own
 * process, in rounds of 15 s: how many links the hostile one got, and whether an honest process
 * crashed (SIGSEGV in RTCDataChannel::Send). Two loads: the honest members send to the hostile
 * one's room every 5 ms each (the worst case: a send on its link at almost every moment), or talk
 * among themselves in another room and hear it at 10 messages a second.
 *
 * Then many accounts (the backoff is per user): the hostile process logs in as one fresh user after
 * another, joins the honest members' room and closes every link it gets 200 ms after it opens
 * (RTCPeerConnection.close(), no BYE), while the honest members send to the room every 5 ms; the
 * honest members on @roamhq/wrtc, then on node-datachannel's polyfill (README: Node clients facing
 * untrusted users).
 */
import { it } from 'vitest'
import { Agent } from '../helpers/agents.js'
import { APP_ID, startRendezvous, stopRendezvous } from '../helpers/rendezvous.js'
import { median } from './lib.js'
import { report } from './report.js'

const VICTIMS = 3
const ABUSE_MS = 15_000
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4)

interface Round {
  links: number
  crashed: number
  firstCrashMs: number | null
}

async function round(load: 'heavy' | 'light', r: number): Promise<Round> {
  const node = await startRendezvous()
  const attacker = await Agent.start(node, `evil${r}`, { spyLinks: true })
  const victims = await Promise.all(Array.from({ length: VICTIMS }, (_, i) => Agent.start(node, `v${r}-${i}`)))
  try {
    for (const a of [attacker, ...victims]) await a.call('join', { channel: 'abused' })
    for (const v of victims) await v.call('join', { channel: 'honest' })
    const t0 = Date.now()
    let firstCrashMs: number | null = null
    for (const v of victims) void v.exited.then(() => (firstCrashMs ??= Date.now() - t0))
    const room = load === 'heavy' ? 'abused' : 'honest'
    for (const v of victims) void v.call('sendPaced', { channel: room, count: ABUSE_MS / 5, prefix: 'x', intervalMs: 5 }, ABUSE_MS + 60_000).catch(() => undefined)
    void attacker.call('sendPaced', { channel: 'abused', count: ABUSE_MS / 100, prefix: 'e', intervalMs: 100 }, ABUSE_MS + 60_000).catch(() => undefined)
    const { links } = await attacker.call<{ links: number }>('abuseLinks', { bytes: 300_000, everyMs: 5, durationMs: ABUSE_MS }, ABUSE_MS + 30_000)
    const crashed = victims.filter((v) => v.proc.signalCode !== null || v.proc.exitCode !== null).length
    return { links, crashed, firstCrashMs }
  } finally {
    await Promise.all([attacker, ...victims].map((a) => a.kill()))
    await stopRendezvous(node)
  }
}

const FRESH_MS = 20_000
const FRESH_ROUNDS = Number(process.env.BENCH_FRESH_ROUNDS ?? 3)
type Webrtc = '@roamhq/wrtc' | 'node-datachannel'

/** A fresh-accounts round: `links` are the links the hostile accounts closed under the honest members. */
async function freshRound(webrtc: Webrtc, r: number): Promise<Round & { accounts: number }> {
  const node = await startRendezvous()
  const attacker = await Agent.start(node, `fresh-evil${r}`)
  const victims = await Promise.all(Array.from({ length: VICTIMS }, (_, i) => Agent.start(node, `fv${r}-${i}`, webrtc === 'node-datachannel' ? { webrtc } : {})))
  try {
    for (const v of victims) await v.call('join', { channel: 'abused' })
    const accounts = await Promise.all(Array.from({ length: 200 }, async (_, i) => ({ uid: `fe${r}-${i}`, token: await node.token(`fe${r}-${i}`) })))
    const t0 = Date.now()
    let firstCrashMs: number | null = null
    for (const v of victims) void v.exited.then(() => (firstCrashMs ??= Date.now() - t0))
    for (const v of victims) void v.call('sendPaced', { channel: 'abused', count: FRESH_MS / 5, prefix: 'x', intervalMs: 5 }, FRESH_MS + 60_000).catch(() => undefined)
    const { used, closed } = await attacker.call<{ used: number; closed: number }>(
      'abuseFresh',
      { url: node.url, appId: APP_ID, accounts, channel: 'abused', closeAfterMs: 200, durationMs: FRESH_MS },
      FRESH_MS + 60_000,
    ).catch((err: Error) => {
      console.log(`the hostile process ended early: ${err.message}`)
      return { used: 0, closed: 0 }
    })
    const crashed = victims.filter((v) => v.proc.signalCode !== null || v.proc.exitCode !== null).length
    return { links: closed, accounts: used, crashed, firstCrashMs }
  } finally {
    await Promise.all([attacker, ...victims].map((a) => a.kill()))
    await stopRendezvous(node)
  }
}

/** Rounds, rounds with a crash, crashed processes, first crashes, links per round (median, max). */
function crashCells(rs: Round[]): string[] {
  const firsts = rs.map((x) => x.firstCrashMs).filter((x): x is number => x !== null)
  return [
    String(rs.length),
    String(rs.filter((x) => x.crashed > 0).length),
    `${rs.reduce((s, x) => s + x.crashed, 0)} of ${rs.length * VICTIMS}`,
    firsts.length ? firsts.map((x) => (x / 1000).toFixed(1)).join(', ') : '—',
    `${median(rs.map((x) => x.links))}, ${Math.max(...rs.map((x) => x.links))}`,
  ]
}

it('link-abuse', async () => {
  const rows = [['load on the hostile member’s links', 'rounds', 'rounds with an honest process crashed', 'crashed processes', 'first crash after (s)', 'links the hostile member got per round (median, max)']]
  const results: Record<string, Round[]> = { heavy: [], light: [] }
  for (let r = 0; r < ROUNDS; r++) {
    for (const load of ['heavy', 'light'] as const) {
      const res = await round(load, r)
      console.log(`round ${r} ${load}: ${res.links} links, ${res.crashed} crashed${res.firstCrashMs !== null ? ` (first at ${(res.firstCrashMs / 1000).toFixed(1)} s)` : ''}`)
      results[load]!.push(res)
    }
  }
  for (const [load, rs] of Object.entries(results)) {
    rows.push([load === 'heavy' ? 'each honest member sends to its room every 5 ms' : 'honest members talk elsewhere; it sends 10/s', ...crashCells(rs)])
  }
  const fresh: Record<Webrtc, (Round & { accounts: number })[]> = { '@roamhq/wrtc': [], 'node-datachannel': [] }
  for (let r = 0; r < FRESH_ROUNDS; r++) {
    for (const webrtc of (r % 2 ? ['node-datachannel', '@roamhq/wrtc'] : ['@roamhq/wrtc', 'node-datachannel']) as Webrtc[]) {
      const res = await freshRound(webrtc, r)
      console.log(`fresh round ${r} ${webrtc}: ${res.accounts} accounts, ${res.links} links closed, ${res.crashed} crashed${res.firstCrashMs !== null ? ` (first at ${(res.firstCrashMs / 1000).toFixed(1)} s)` : ''}`)
      fresh[webrtc].push(res)
    }
  }
  const freshRows = [['honest members’ WebRTC', 'rounds', 'rounds with an honest process crashed', 'crashed processes', 'first crash after (s)', 'links closed under them per round (median, max)', 'accounts used per round (median)']]
  for (const [webrtc, rs] of Object.entries(fresh)) {
    freshRows.push([webrtc, ...crashCells(rs), String(median(rs.map((x) => x.accounts)))])
  }
  report('link-abuse', 'A hostile member closing its links on purpose (@roamhq/wrtc close race)', 'npm run bench -- link-abuse', [...rows, [], ...freshRows], [
    `${VICTIMS} honest members and one hostile, each its own process, ${ABUSE_MS / 1000} s per round, the two loads interleaved. The hostile member sends 300,000-byte frames on every link every 5 ms (each closes that data channel at once, and it links again). A crash is a SIGSEGV in @roamhq/wrtc (RTCDataChannel::Send re-reads a native pointer its signaling thread cleared). The same bench on the code before BYE and the backoff (16b970c's parent, 2 rounds): every honest process crashed in both heavy rounds (6 of 6, first at 0.4 and 1.5 s; 132 and 146 links), and 3 of 6 in the light ones (first at 0.3 and 5.6 s; 31–33 links).`,
    `Second table: many accounts. ${VICTIMS} honest members in one room, each its own process, sending to it every 5 ms; one hostile process logs in as a fresh user (of 200 per round), joins the room, and 200 ms after its first link opens closes every link it has (RTCPeerConnection.close(), no BYE), logs out, and goes on with the next user, for ${FRESH_MS / 1000} s per round; ${FRESH_ROUNDS} rounds per WebRTC, the two interleaved. The honest members run on @roamhq/wrtc (the default) or on node-datachannel's polyfill (options.wrtc, with no STUN servers configured: none is reachable here). The per-user backoff does not help here: each account is new.`,
  ])
}, 30 * 60_000)
