import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

/** Starts a server script in its own process and waits for the JSON line with its port. */
export async function startServer(command: string[], env: Record<string, string> = {}, ready = /"port":\s*(\d+)/): Promise<{ proc: ChildProcess; port: number; stop(): void }> {
  const proc = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command.join(' ')} did not start`)), 20_000)
    const onLine = (line: string) => {
      const m = ready.exec(line)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    createInterface({ input: proc.stdout! }).on('line', onLine)
    createInterface({ input: proc.stderr! }).on('line', onLine)
    proc.once('exit', (code) => reject(new Error(`${command.join(' ')} exited ${code}`)))
  })
  return { proc, port, stop: () => proc.kill('SIGKILL') }
}
