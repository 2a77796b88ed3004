/** Shared helpers of the benches: process CPU and memory from /proc, ports, child processes, rounds. */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { APP_ID, SECRET, startRendezvous, type RendezvousProcess, type StartOptions } from '../helpers/rendezvous.js'

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (clock ticks of 1/100 s). */
export function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

export const freePort = () =>
  new Promise<number>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => r(p))
    })
  })

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '—')
export const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en') : '—')

/** Rotates `items` by `round` so that no path always goes first. */
export const rotate = <T>(items: T[], round: number) => items.map((_, i) => items[(i + round) % items.length])

/** One value of a Prometheus counter from the node's /metrics (0 if absent). */
export async function metric(node: RendezvousProcess, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `))
  return line ? Number(line.split(' ').at(-1)) : 0
}

// --- memory after a full GC, from outside the process ---------------------------------------

const GC_PROBE = resolve(__dirname, 'servers/gc-probe.cjs')
let probeDir: string | undefined

/** Environment that makes a Node process answer SIGUSR2 with a full GC and its memory usage. */
export function gcProbeEnv(): Record<string, string> {
  probeDir ??= mkdtempSync(join(tmpdir(), 'plaza-gc-probe-'))
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${GC_PROBE}`.trim(), PLAZA_GC_PROBE_DIR: probeDir }
}

/** Starts a rendezvous whose process carries the GC probe (the helper spawns with this process's environment). */
export async function startProbedRendezvous(opts: StartOptions): Promise<RendezvousProcess> {
  const saved = { ...process.env }
  Object.assign(process.env, gcProbeEnv())
  const started = startRendezvous(opts) // spawns synchronously
  process.env.NODE_OPTIONS = saved.NODE_OPTIONS
  if (saved.NODE_OPTIONS === undefined) delete process.env.NODE_OPTIONS
  return started
}

export interface GcMemory {
  rss: number
  heapUsed: number
  external: number
  arrayBuffers: number
}

/** Full GC in process `pid` (started with gcProbeEnv), then its memory usage. */
export async function memoryAfterGc(pid: number): Promise<GcMemory> {
  const file = join(probeDir!, `${pid}.json`)
  rmSync(file, { force: true })
  process.kill(pid, 'SIGUSR2')
  for (let i = 0; i < 200; i++) {
    await sleep(25)
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as GcMemory
      } catch {
        /* being written */
      }
    }
  }
  throw new Error(`process ${pid} did not answer the GC probe`)
}

// --- child processes that print JSON lines --------------------------------------------------

export interface Child {
  proc: ChildProcess
  /** The next JSON line the child prints (after those already taken). */
  next<T = Record<string, number>>(timeoutMs?: number): Promise<T>
  write(line: string): void
  /** Closes its input and waits for it to exit (killed after `timeoutMs`). */
  end(timeoutMs?: number): Promise<void>
  kill(): Promise<void>
}

export function child(script: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, [resolve(__dirname, script), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, PLAZA_APP: APP_ID, PLAZA_SECRET: SECRET, ...env },
  })
  const lines: unknown[] = []
  const waiting: ((v: unknown) => void)[] = []
  const rl = createInterface({ input: proc.stdout! })
  let closed = false
  rl.once('close', () => (closed = true))
  rl.on('line', (line) => {
    let v: unknown
    try {
      v = JSON.parse(line)
    } catch {
      return process.stdout.write(`${line}\n`)
    }
    const w = waiting.shift()
    if (w) w(v)
    else lines.push(v)
  })
  let exited = false
  const done = new Promise<void>((r) => proc.once('exit', () => ((exited = true), r())))
  return {
    proc,
    next<T>(timeoutMs = 120_000) {
      if (lines.length) return Promise.resolve(lines.shift() as T)
      if (closed) return Promise.reject(new Error(`${script} ${args[0] ?? ''} exited`))
      return new Promise<T>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`${script} ${args[0] ?? ''}: no answer in ${timeoutMs} ms`)), timeoutMs)
        // Its output ends after its last line (a process that prints and exits at once may exit first).
        const onExit = () => rej(new Error(`${script} ${args[0] ?? ''} exited`))
        rl.once('close', onExit)
        waiting.push((v) => (clearTimeout(timer), rl.off('close', onExit), res(v as T)))
      })
    },
    write: (line) => void proc.stdin!.write(`${line}\n`),
    end: async (timeoutMs = 30_000) => {
      proc.stdin!.end()
      const t = setTimeout(() => !exited && proc.kill('SIGKILL'), timeoutMs)
      await done
      clearTimeout(t)
    },
    kill: () => {
      if (!exited) proc.kill('SIGKILL')
      return done
    },
  }
}
