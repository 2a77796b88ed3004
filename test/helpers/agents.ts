import { fork, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { APP_ID, type RendezvousProcess } from './rendezvous.js'

type Event = { event: string; [k: string]: unknown }

/** A Plaza client in a child process (real process, own WebRTC links), driven over IPC. */
export class Agent {
  readonly events: Event[] = []
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private listeners = new Set<() => void>()
  readonly exited: Promise<void>

  private constructor(
    readonly uid: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (m: { id?: number; ok?: boolean; value?: unknown; error?: string; event?: string; items?: Event[] }) => {
      if (m.id !== undefined) {
        const p = this.pending.get(m.id)
        this.pending.delete(m.id)
        if (m.ok) p?.resolve(m.value)
        else p?.reject(new Error(`${uid}: ${m.error}`))
      } else if (m.event === 'batch') {
        this.events.push(...(m.items ?? []))
        for (const fn of this.listeners) fn()
      }
    })
    this.exited = new Promise((r) => proc.once('exit', () => r()))
  }

  /** `prefix` runs it inside e.g. a network namespace (`ip netns exec NS`); `options` go to createClient. */
  static async start(node: RendezvousProcess, uid: string, opts: { prefix?: string[]; options?: Record<string, unknown> } = {}): Promise<Agent> {
    const prefix = opts.prefix ?? []
    const proc = fork(resolve(__dirname, 'agent.mjs'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      ...(prefix.length ? { execPath: prefix[0], execArgv: [...prefix.slice(1), process.execPath] } : {}),
    })
    const agent = new Agent(uid, proc)
    await new Promise<void>((r) => proc.once('message', () => r()))
    await agent.call('login', { url: node.url, appId: APP_ID, uid, token: await node.token(uid), options: opts.options ?? {} })
    return agent
  }

  call<T = unknown>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.uid}: ${cmd} timed out`)), timeoutMs)
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      })
      this.proc.send({ id, cmd, ...args })
    })
  }

  /** Resolves when `check` holds for the events so far; rejects after `timeoutMs`. */
  until(check: (events: Event[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check(this.events)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const fn = () => {
        if (!check(this.events)) return
        this.listeners.delete(fn)
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        this.listeners.delete(fn)
        reject(new Error(`${this.uid}: timed out after ${timeoutMs} ms waiting for ${what}`))
      }, timeoutMs)
      this.listeners.add(fn)
    })
  }

  kill(): Promise<void> {
    this.proc.kill('SIGKILL')
    return this.exited
  }
}
