/** The node's command as a new user runs it from a clone: `npx plaza-rendezvous` (the root package's bin). */
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(__dirname, '../..')
const run = (args: string[]) => spawnSync('npx', ['--no-install', 'plaza-rendezvous', ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 })

describe('npx plaza-rendezvous', () => {
  it('--help prints the options from the repository root, without asking the registry', () => {
    const r = run(['--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^plaza-rendezvous — a Plaza rendezvous node/)
    expect(r.stdout).toContain('--ywebrtc-limit')
  })

  it('exits 2 with the reason on a bad option, --name=value included', () => {
    const r = run(['--port=not-a-port'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('port wants a number, got "not-a-port"')
  })
})
