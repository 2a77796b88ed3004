import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { mintToken, type Grants } from '@plaza/protocol'

export const APP_ID = 'test-app'
export const SECRET = 'test-secret-please-change'
const BIN = resolve(__dirname, '../../rendezvous/dist/bin.js')

export interface RendezvousProcess {
  url: string
  httpUrl: string
  port: number
  dataDir: string
  proc: ChildProcess
  /** Log lines (JSON) the node printed. */
  logs: string[]
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>
  /** Starts the node again on the same port and data dir. */
  restart(): Promise<void>
  token(uid: string, ttlSeconds?: number, grants?: Grants): Promise<string>
}

export interface StartOptions {
  args?: string[]
  port?: number
  dataDir?: string
  /** Address to listen on and to reach it at. Default 127.0.0.1. */
  host?: string
  /** A command that runs the node, e.g. `ip netns exec NS` (default: none). */
  prefix?: string[]
}

/** Node flags for tests that open hundreds of sessions from one address in seconds. */
export const MANY_CONNECTIONS = ['--handshakes-per-address', '1000000/1000', '--max-connections-per-address', '100000', '--max-connections', '100000']

const live = new Set<ChildProcess>()
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL')
})

function launch(
  port: number,
  dataDir: string,
  args: string[],
  host = '127.0.0.1',
  prefix: string[] = [],
): Promise<{ proc: ChildProcess; port: number; logs: string[] }> {
  const command = [...prefix, process.execPath, ...(process.env.PLAZA_NODE_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PLAZA_NODE_PROF}`] : []), BIN, '--port', String(port), '--host', host, '--data-dir', dataDir, '--app', `${APP_ID}:${SECRET}`, ...args]
  const proc = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(proc)
  proc.on('exit', () => live.delete(proc))
  const logs: string[] = []
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`rendezvous did not start:\n${logs.join('\n')}`)), 15_000)
    proc.stderr!.on('data', (d) => logs.push(String(d)))
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      logs.push(line)
      if (logs.length > 2000) logs.shift()
      try {
        const rec = JSON.parse(line)
        if (rec.msg === 'listening') {
          clearTimeout(timer)
          resolvePort({ proc, port: rec.port, logs })
        }
      } catch {
        /* not JSON */
      }
    })
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`rendezvous exited with ${code}:\n${logs.join('\n')}`))
    })
  })
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  return new Promise((r) => proc.once('exit', () => r()))
}

/** Starts a real rendezvous process on a free port with a fresh data dir. */
export async function startRendezvous(opts: StartOptions = {}): Promise<RendezvousProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'plaza-test-'))
  const args = opts.args ?? []
  const host = opts.host ?? '127.0.0.1'
  const first = await launch(opts.port ?? 0, dataDir, args, host, opts.prefix)
  const node: RendezvousProcess = {
    url: `ws://${host}:${first.port}`,
    httpUrl: `http://${host}:${first.port}`,
    port: first.port,
    dataDir,
    proc: first.proc,
    logs: first.logs,
    async stop() {
      node.proc.kill('SIGTERM')
      await exited(node.proc)
    },
    async kill() {
      node.proc.kill('SIGKILL')
      await exited(node.proc)
    },
    async restart() {
      const next = await launch(node.port, dataDir, args, host, opts.prefix)
      node.proc = next.proc
      node.logs = next.logs
    },
    token: (uid, ttlSeconds, grants) => mintToken(SECRET, { appId: APP_ID, uid, ttlSeconds, grants }),
  }
  return node
}

export async function stopRendezvous(node: RendezvousProcess | undefined): Promise<void> {
  if (!node) return
  if (process.env.PLAZA_NODE_PROF) await node.stop()
  else await node.kill()
  rmSync(node.dataDir, { recursive: true, force: true })
}
