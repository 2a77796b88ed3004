import { fork, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { APP_ID, type RendezvousProcess } from './rendezvous.js'

type Event = { uid: string; event: string; [k: string]: unknown }

/**
 * A process holding several Plaza clients (test/helpers/members.mjs), driven over IPC: for tests
 * with many members, where one process per member would pay @roamhq/wrtc's per-process threads
 * many times over. `prefix` runs it under e.g. `nice -n 10`.
 */
export class MemberHost {
  readonly events: Event[] = []
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private readonly listeners = new Set<() => void>()
  readonly exited: Promise<void>

  private constructor(
    readonly uids: string[],
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (m: { id?: number; ok?: boolean; value?: unknown; error?: string; event?: string; items?: Event[] }) => {
      if (m.id !== undefined) {
        const p = this.pending.get(m.id)
        this.pending.delete(m.id)
        if (m.ok) p?.resolve(m.value)
        else p?.reject(new Error(m.error))
      } else if (m.event === 'batch') {
        this.events.push(...(m.items ?? []))
        for (const fn of this.listeners) fn()
      }
    })
    this.exited = new Promise((r) => proc.once('exit', () => r()))
  }

  static async start(node: RendezvousProcess, uids: string[], opts: { prefix?: string[]; options?: Record<string, unknown> } = {}): Promise<MemberHost> {
    const prefix = opts.prefix ?? []
    // PLAZA_MEMBERS_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") goes to each process's node, for a look inside.
    const nodeArgs = process.env.PLAZA_MEMBERS_NODE_ARGS?.split(' ') ?? []
    const proc = fork(resolve(__dirname, 'members.mjs'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      ...(prefix.length ? { execPath: prefix[0], execArgv: [...prefix.slice(1), process.execPath, ...nodeArgs] } : { execArgv: nodeArgs }),
    })
    const host = new MemberHost(uids, proc)
    try {
      await Promise.race([
        new Promise<void>((r) => proc.once('message', () => r())),
        host.exited.then(() => Promise.reject(new Error(`members ${uids.join(', ')}: the process exited before it was ready`))),
      ])
      for (const uid of uids) await host.call(uid, 'login', { url: node.url, appId: APP_ID, token: await node.token(uid), options: opts.options ?? {} })
    } catch (err) {
      await host.kill()
      throw err
    }
    return host
  }

  call<T = unknown>(uid: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${uid}: ${cmd} timed out`)), timeoutMs)
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(new Error(`${uid}: ${e.message}`))),
      })
      this.proc.send({ id, cmd, uid, ...args })
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
        reject(new Error(`${this.uids[0]}…: timed out after ${timeoutMs} ms waiting for ${what}`))
      }, timeoutMs)
      this.listeners.add(fn)
    })
  }

  /** Asks the process to exit normally; kills it if it has not within 5 s. */
  async exit(): Promise<void> {
    await this.call(this.uids[0]!, 'exit', {}, 5000).catch(() => undefined)
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000)
    await this.exited
    clearTimeout(timer)
  }

  kill(): Promise<void> {
    this.proc.kill('SIGKILL')
    return this.exited
  }
}
