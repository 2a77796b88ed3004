import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))

/** A redis-server of a test suite's own: AOF with fsync on every write, on a free port, in a temp dir. */
export interface RedisProcess {
  port: number
  url: string
  dir: string
  proc: ChildProcess
  /** kill -9 and start again on the same directory (the AOF). */
  restart(): Promise<void>
  /** SIGSTOP / SIGCONT: Redis stops answering but keeps its connections. */
  pause(): void
  resume(): void
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer()
    srv.once('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => done(port))
    })
  })
}

function ensureRedis(): void {
  execFileSync('bash', [resolve(here, '../../scripts/ensure-tool.sh'), 'redis-server', 'redis-server'], { stdio: 'inherit' })
}

async function waitReady(port: number, proc: ChildProcess): Promise<void> {
  const end = Date.now() + 10_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`)
    try {
      if (execFileSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === 'PONG') return
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error('redis-server did not answer within 10 s')
    await new Promise((r) => setTimeout(r, 50))
  }
}

export async function startRedis(): Promise<RedisProcess> {
  ensureRedis()
  const dir = mkdtempSync(join(tmpdir(), 'plaza-redis-'))
  const port = await freePort()
  const launch = () =>
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--loglevel', 'warning'], {
      stdio: 'ignore',
    })
  const r: RedisProcess = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    proc: launch(),
    async restart() {
      r.proc.kill('SIGKILL')
      await new Promise((done) => (r.proc.exitCode !== null || r.proc.signalCode !== null ? done(null) : r.proc.once('exit', done)))
      r.proc = launch()
      await waitReady(port, r.proc)
    },
    pause() {
      r.proc.kill('SIGSTOP')
    },
    resume() {
      r.proc.kill('SIGCONT')
    },
    async stop() {
      r.proc.kill('SIGCONT')
      r.proc.kill('SIGKILL')
      await new Promise((done) => (r.proc.exitCode !== null || r.proc.signalCode !== null ? done(null) : r.proc.once('exit', done)))
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await waitReady(port, r.proc)
  return r
}
