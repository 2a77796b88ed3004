import { fork, type ChildProcess } from 'node:child_process'

export type ChildEvent = { event: string; [k: string]: unknown }

/**
 * A child process driven over IPC (its side: test/helpers/ipc-child.mjs): requests answered by
 * id, events gathered as they come. `prefix` runs it under another program (`nice -n 10`, `ip
 * netns exec NS`); PLAZA_CHILD_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") goes to its
 * node, for a look inside.
 */
export class IpcChild<E extends ChildEvent = ChildEvent> {
  readonly events: E[] = []
  readonly exited: Promise<void>
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private readonly listeners = new Set<() => void>()

  protected constructor(
    readonly proc: ChildProcess,
    private readonly label: string,
  ) {
    proc.on('message', (m: { id?: number; ok?: boolean; value?: unknown; error?: string; event?: string; items?: E[] }) => {
      if (m.id !== undefined) {
        const p = this.pending.get(m.id)
        this.pending.delete(m.id)
        if (m.ok) p?.resolve(m.value)
        else p?.reject(new Error(`${label}: ${m.error}`))
      } else if (m.event === 'batch') {
        this.events.push(...(m.items ?? []))
        for (const fn of this.listeners) fn()
      }
    })
    this.exited = new Promise((r) => proc.once('exit', () => r()))
  }

  /** Forks `script`; resolves once it says it is ready (rejects if it exits first). */
  protected static fork(script: string, prefix: string[] = []): { proc: ChildProcess; ready: Promise<void> } {
    const nodeArgs = process.env.PLAZA_CHILD_NODE_ARGS?.split(' ') ?? []
    const proc = fork(script, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      ...(prefix.length ? { execPath: prefix[0], execArgv: [...prefix.slice(1), process.execPath, ...nodeArgs] } : { execArgv: nodeArgs }),
    })
    const ready = new Promise<void>((resolve, reject) => {
      proc.once('message', () => resolve())
      proc.once('exit', (code, signal) => reject(new Error(`${script}: exited (${signal ?? code}) before it was ready`)))
    })
    return { proc, ready }
  }

  protected request<T>(what: string, message: Record<string, unknown>, timeoutMs: number): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} timed out`)), timeoutMs)
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      })
      this.proc.send({ id, ...message })
    })
  }

  /** Resolves when `check` holds for the events so far; rejects after `timeoutMs`. */
  until(check: (events: E[]) => boolean, timeoutMs: number, what: string): Promise<void> {
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
        reject(new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${what}`))
      }, timeoutMs)
      this.listeners.add(fn)
    })
  }

  kill(): Promise<void> {
    this.proc.kill('SIGKILL')
    return this.exited
  }
}
