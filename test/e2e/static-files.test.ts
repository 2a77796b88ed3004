/** The node's static files (--static-dir): a file that fails while being read ends that response only. */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

let node: RendezvousProcess
let dir: string
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plaza-static-'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>ok</title>')
  // Opens fine and fails on the first read (EIO at offset 0): a stream error after the file was found.
  symlinkSync('/proc/self/mem', join(dir, 'unreadable.bin'))
  node = await startRendezvous({ args: ['--static-dir', dir] })
})
afterAll(async () => {
  await stopRendezvous(node)
  rmSync(dir, { recursive: true, force: true })
})

describe('static files', () => {
  it('a read error ends that response (500, or the connection cut), never the node', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${node.httpUrl}/unreadable.bin`).then(
        async (r) => ({ status: r.status, body: await r.text().catch(() => 'cut') }),
        () => ({ status: 0, body: 'cut' }),
      )
      expect(res.status === 500 || res.body === 'cut' || res.body === '').toBe(true)
    }
    expect(node.proc.exitCode).toBeNull()
    expect((await fetch(`${node.httpUrl}/healthz`)).status).toBe(200)
    expect(await (await fetch(`${node.httpUrl}/`)).text()).toContain('<title>ok</title>')
  })
})
