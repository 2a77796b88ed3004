import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { APP_ID, SECRET, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { until } from '../helpers/wait.js'

// Chaos with real processes: a rendezvous node and five client processes (real WebRTC where it
// connects, durable FileStorage each) run a random mixed workload — peer messages with and
// without offline messaging, channel messages, channel attribute writes — while the node and the
// clients are killed with SIGKILL at random and started again. Then everything comes back, the
// workload stops, and the guarantees are checked on what every process logged (synchronously,
// before acknowledging anything). Seeded: CHAOS_SEED replays the same choices (the timing of
// real processes is not replayable; the simulation in test/sim is).
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31))
const USERS = ['ch-a', 'ch-b', 'ch-c', 'ch-d', 'ch-e']
const CHANNEL = 'chaos'
const CHAOS_MS = 35_000
let node: RendezvousProcess | undefined
const dir = mkdtempSync(join(tmpdir(), 'plaza-chaos-'))
const AGENT = resolve(__dirname, '../helpers/chaos-agent.mjs')

interface Rec {
  t: string
  uid: string
  instance: number
  at: number
  id?: string
  to?: string
  from?: string
  offline?: boolean
  n?: number
  state?: string
  path?: string
  count?: number
  failures?: { memberId: string; state: string }[]
  restored?: boolean
}

let seed = SEED >>> 0
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

class AgentProc {
  proc: ChildProcess | null = null
  instance = 0
  ready: Promise<void> = Promise.resolve()
  readonly kills: number[] = []
  constructor(readonly uid: string) {}

  async start(): Promise<void> {
    this.instance++
    const token = await node!.token(this.uid, 3600)
    const proc = fork(
      AGENT,
      [node!.url, APP_ID, this.uid, token, join(dir, `${this.uid}.log`), join(dir, `${this.uid}-storage`), String(this.instance), String(Math.floor(rand() * 2 ** 31)), USERS.join(','), CHANNEL],
      { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
    )
    this.proc = proc
    // A process that ends without being killed here (a crash) fails what waits on it, at once.
    this.died = new Promise((_, reject) =>
      proc.once('exit', (code, signal) => {
        if (this.proc !== proc) return
        const e = new Error(`${this.uid} (process ${this.instance}) exited on its own: code ${code}, signal ${signal}`)
        console.error(`chaos: ${e.message}`)
        reject(e)
      }),
    )
    this.died.catch(() => undefined)
    this.ready = Promise.race([new Promise<void>((r) => proc.on('message', (m: { ready?: boolean }) => m.ready && r())), this.died])
  }

  /** Rejects if the current process exits without kill() (never resolves). */
  died: Promise<never> = new Promise(() => undefined)

  kill(): Promise<void> {
    const proc = this.proc
    this.proc = null
    if (!proc || proc.exitCode !== null) return Promise.resolve()
    this.kills.push(Date.now())
    return new Promise((r) => {
      proc.once('exit', () => r())
      proc.kill('SIGKILL')
    })
  }

  ask<T>(cmd: string, key: string): Promise<T> {
    const proc = this.proc!
    const answer = new Promise<T>((r) => {
      const fn = (m: Record<string, unknown>) => {
        if (!(key in m)) return
        proc.off('message', fn)
        r(m[key] as T)
      }
      proc.on('message', fn)
      proc.send({ cmd })
    })
    return Promise.race([answer, this.died])
  }
}

const agents = USERS.map((u) => new AgentProc(u))

afterAll(async () => {
  await Promise.all(agents.map((a) => a.kill()))
  await stopRendezvous(node)
  // CHAOS_KEEP=1 keeps every process's log (and the node's data) for a look after a failure.
  if (process.env.CHAOS_KEEP) console.log(`chaos logs kept in ${dir}`)
  else rmSync(dir, { recursive: true, force: true })
})

function readLogs(): Rec[] {
  return USERS.flatMap((u) => {
    const file = join(dir, `${u}.log`)
    if (!existsSync(file)) return []
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Rec)
  })
}

/** Every guarantee, over everything logged; empty when all hold. */
function violations(recs: Rec[], strict: boolean): string[] {
  const out: string[] = []
  const killedSoonAfter = (uid: string, at: number) => agents.find((a) => a.uid === uid)!.kills.some((k) => k - at <= 1000 && k >= at)
  const sends = new Map<string, Rec>()
  const results = new Map<string, string>()
  const got = new Map<string, Rec[]>()
  const dropped = new Map<string, number>()
  for (const r of recs) {
    if (r.t === 'send') sends.set(r.id!, r)
    else if (r.t === 'result' && !results.has(r.id!)) results.set(r.id!, r.state!)
    else if (r.t === 'got' || r.t === 'chgot') got.set(r.id!, [...(got.get(r.id!) ?? []), r])
    else if (r.t === 'dropped') dropped.set(`${r.uid}<${r.from}`, (dropped.get(`${r.uid}<${r.from}`) ?? 0) + r.count!)
  }
  for (const [id, ds] of got) {
    const per = new Map<string, Rec[]>()
    for (const d of ds) per.set(d.uid, [...(per.get(d.uid) ?? []), d])
    for (const [to, list] of per) {
      if (list.length > 1 && !list.slice(0, -1).every((d) => killedSoonAfter(to, d.at))) out.push(`${id} delivered ${list.length} times to ${to}`)
    }
  }
  for (const [id, s] of sends) {
    const state = results.get(id)
    const ds = (got.get(id) ?? []).filter((d) => d.uid === s.to)
    if (state === 'RECEIVED_BY_PEER' && !ds.length) out.push(`${id} RECEIVED_BY_PEER, never delivered`)
    if ((state === 'PEER_UNREACHABLE' || state === 'FAILURE') && ds.length) out.push(`${id} ${state} but delivered`)
    if (strict && state === 'CACHED_BY_SERVER' && !ds.length) {
      const lost = [...sends.values()].filter((x) => x.uid === s.uid && x.to === s.to && results.get(x.id!) === 'CACHED_BY_SERVER' && !(got.get(x.id!) ?? []).some((d) => d.uid === s.to)).length
      if ((dropped.get(`${s.to}<${s.uid}`) ?? 0) < lost) out.push(`${id} CACHED_BY_SERVER, never delivered (no drop notice)`)
    }
  }
  for (const r of recs) {
    if (r.t !== 'chresult' || !r.failures) continue
    for (const f of r.failures) {
      if ((f.state === 'FAILURE' || f.state === 'PEER_UNREACHABLE') && (got.get(r.id!) ?? []).some((d) => d.uid === f.memberId)) out.push(`${r.id} to ${f.memberId}: ${f.state} but delivered`)
    }
  }
  // Per sender and receiver, in the sender's order (a message whose fate its sender never learnt,
  // or heard SENT_TIMEOUT for, may come after newer ones from a later process of that sender).
  const deliveries = recs.filter((r) => r.t === 'got' || r.t === 'chgot').sort((a, b) => a.at - b.at)
  const latest = new Map<string, Rec>()
  const had = new Set<string>()
  for (const d of deliveries) {
    const s = sends.get(d.id!) ?? recs.find((r) => r.t === 'chsend' && r.id === d.id)
    if (!s) continue
    const k = `${d.from}>${d.uid}${d.t === 'chgot' ? '#' : ''}`
    // A second delivery (a receiver killed before it saved what it got) is judged as a
    // duplicate above; only first deliveries count for the order.
    if (had.has(`${k}:${d.id}`)) continue
    had.add(`${k}:${d.id}`)
    const prev = latest.get(k)
    if (prev && s.n! < prev.n!) {
      const state = results.get(s.id!)
      const unknown = state === undefined || state === 'SENT_TIMEOUT' || state === 'NOT_LOGGED_IN'
      if (!(unknown && s.instance !== prev.instance) && !killedSoonAfter(d.uid, d.at)) out.push(`${k}: ${s.id} delivered after ${prev.id}`)
    }
    if (!prev || s.n! > prev.n!) latest.set(k, s)
  }
  return out
}

describe(`chaos: kill -9 of the node and of clients during mixed traffic (CHAOS_SEED=${SEED})`, () => {
  it('keeps every guarantee once everything is back', async () => {
    node = await startRendezvous({ args: ['--offline-after', '6000', '--unreachable-after', '2000', '--ping-interval', '500'] })
    for (const a of agents) await a.start()
    await Promise.all(agents.map((a) => a.ready))
    const t0 = Date.now()
    let nodeKills = 0
    let clientKills = 0
    while (Date.now() - t0 < CHAOS_MS) {
      await new Promise((r) => setTimeout(r, 1500 + rand() * 3000))
      if (rand() < 0.35) {
        await node.kill()
        nodeKills++
        await new Promise((r) => setTimeout(r, 300 + rand() * 1500))
        await node.restart()
      } else {
        const a = agents[Math.floor(rand() * agents.length)]
        await a.kill()
        clientKills++
        await new Promise((r) => setTimeout(r, 200 + rand() * 2000))
        await a.start()
      }
    }
    // Everything back; the workload stops; what is under way settles.
    await Promise.all(agents.map((a) => a.ready))
    await Promise.all(agents.map((a) => a.ask('stop', 'stopped')))
    // First every message the running processes sent has its outcome (one may still come late
    // and break a guarantee), then the guarantees, given time for stored messages to arrive.
    const unsettled = () => {
      const recs = readLogs()
      const done = new Set(recs.filter((r) => r.t === 'result' || r.t === 'chresult').map((r) => r.id))
      return recs.filter((r) => (r.t === 'send' || r.t === 'chsend') && r.instance === agents.find((a) => a.uid === r.uid)!.instance && !done.has(r.id))
    }
    await until(() => unsettled().length === 0, 60_000, 'an outcome for every message of the running processes')
    const problems = () => violations(readLogs(), true)
    await until(() => problems().length === 0, 60_000, 'every guarantee').catch(() => undefined)
    const recs = readLogs()
    const count = (t: string) => recs.filter((r) => r.t === t).length
    const states = new Map<string, number>()
    for (const r of recs) if (r.t === 'result') states.set(r.state!, (states.get(r.state!) ?? 0) + 1)
    console.log(
      `chaos (seed ${SEED}): ${nodeKills} node kills, ${clientKills} client kills; ${count('send')} peer messages ` +
        `${JSON.stringify(Object.fromEntries(states))}, ${count('got')} deliveries; ${count('chsend')} channel messages, ${count('chgot')} deliveries`,
    )
    expect(problems()).toEqual([])
    // Channel attributes: every member and the node agree.
    const auth = 'Basic ' + Buffer.from(`${APP_ID}:${SECRET}`).toString('base64')
    const nodeAttrs = async () => {
      const body = (await (await fetch(`${node!.httpUrl}/v1/channels/${CHANNEL}/attributes`, { headers: { authorization: auth } })).json()) as {
        attributes: Record<string, { value: string }>
      }
      return Object.fromEntries(Object.entries(body.attributes).map(([k, a]) => [k, a.value]).sort())
    }
    const converged = async () => {
      const truth = JSON.stringify(await nodeAttrs())
      const states = await Promise.all(agents.map((a) => a.ask<{ joined: boolean; attributes: Record<string, string> }>('state', 'state')))
      return states.every((s) => !s.joined || JSON.stringify(Object.fromEntries(Object.entries(s.attributes).sort())) === truth)
    }
    await until(converged, 30_000, 'channel attributes to converge')
  }, 240_000)
})
