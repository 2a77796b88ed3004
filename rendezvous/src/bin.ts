#!/usr/bin/env node
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HELP, UsageError, parseArgs } from './cli.js'
import { RendezvousNode } from './node.js'
import { setByteAllocator } from '@plaza/protocol'

// Frames under 4 KiB from Node's shared buffer pool rather than a malloc each: ~7% of the node's
// CPU per relayed message (bench A/B at 3,000 messages/s). `ws` allocates every frame header the
// same way. Frames kept for long (a detached session's queue) are copied out of the pool.
setByteAllocator((n) => Buffer.allocUnsafe(n))

const DEV_APP = 'plaza-dev'

async function devSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, 'dev-secret')
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch {
    const secret = randomBytes(24).toString('base64url')
    await writeFile(file, secret + '\n', { mode: 0o600 })
    return secret
  }
}

async function main(): Promise<void> {
  let cfg
  try {
    cfg = parseArgs(process.argv.slice(2), process.env)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  if (cfg.help) {
    process.stdout.write(HELP)
    return
  }
  await mkdir(cfg.dataDir, { recursive: true })
  let devNote = ''
  if (Object.keys(cfg.apps).length === 0) {
    cfg.apps[DEV_APP] = await devSecret(cfg.dataDir)
    cfg.devTokens = true
    devNote = `no --app given: development app "${DEV_APP}", secret in ${join(cfg.dataDir, 'dev-secret')}, tokens at /dev/token?uid=NAME`
  }
  if (!cfg.staticDir) {
    const here = dirname(fileURLToPath(import.meta.url))
    for (const candidate of [join(here, '../../demo/dist'), join(here, '../../demo')]) {
      if (existsSync(join(candidate, 'index.html'))) {
        cfg.staticDir = candidate
        break
      }
    }
  }
  const node = new RendezvousNode(cfg)
  if (devNote) node.log.warn(devNote)
  const addr = await node.listen()
  if (cfg.staticDir) node.log.info(`demo at http://localhost:${addr.port}/`)
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    node.log.info({ signal }, 'shutting down')
    node.close().then(
      () => process.exit(0),
      (err) => {
        node.log.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((err) => {
  process.stderr.write(`plaza-rendezvous: ${err?.stack ?? err}\n`)
  process.exit(1)
})
