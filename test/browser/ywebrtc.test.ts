/**
 * Unmodified y-webrtc in Chromium: two pages (two contexts, so no BroadcastChannel between them:
 * they find each other through the node's /y-webrtc) and two Node providers (@roamhq/wrtc) share a
 * Y.Doc. The page's y-webrtc and yjs are bundled with Vite as an app would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { ensureChromium, openContexts } from '../helpers/browser.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { YPeer } from '../helpers/ywebrtc.js'
import { metric } from '../bench/lib.js'

declare global {
  interface Window {
    ydoc?: { start(url: string, room: string): void; map(): Record<string, unknown>; set(key: string, value: unknown): void; peers(): number }
  }
}

const PAGE_CODE = `
import * as Y from 'yjs'
import { WebrtcProvider } from 'y-webrtc'
const doc = new Y.Doc()
const map = doc.getMap('m')
let provider = null
window.ydoc = {
  start(url, room) { provider = new WebrtcProvider(room, doc, { signaling: [url] }) },
  map: () => map.toJSON(),
  set: (k, v) => map.set(k, v),
  peers: () => (provider && provider.room ? provider.room.webrtcConns.size : 0),
}
`

let node: RendezvousProcess
let chromium: Awaited<ReturnType<typeof openContexts>>
let staticDir: string
let buildDir: string
const nodePeers: YPeer[] = []

beforeAll(async () => {
  ensureChromium()
  staticDir = mkdtempSync(join(tmpdir(), 'plaza-ywebrtc-page-'))
  // Built inside the repository so that the bundler resolves y-webrtc and yjs from its node_modules.
  buildDir = mkdtempSync(join(resolve(__dirname, '../../demo'), '.ywebrtc-page-'))
  writeFileSync(join(buildDir, 'entry.js'), PAGE_CODE)
  await build({
    root: buildDir,
    logLevel: 'silent',
    configFile: false,
    build: { outDir: staticDir, emptyOutDir: false, lib: { entry: join(buildDir, 'entry.js'), formats: ['iife'], name: 'ywebrtcPage', fileName: () => 'page.js' }, minify: false, target: 'es2022' },
  })
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>y-webrtc</title><script src="/page.js"></script>')
  node = await startRendezvous({ args: ['--static-dir', staticDir] })
  chromium = await openContexts(2)
}, 120_000)

afterAll(async () => {
  await Promise.all(nodePeers.map((p) => p.stop()))
  await chromium?.close()
  await stopRendezvous(node)
  for (const d of [staticDir, buildDir]) if (d) rmSync(d, { recursive: true, force: true })
})

const mapOf = (page: Page) => page.evaluate(() => window.ydoc!.map())
async function waitForKey(page: Page, key: string, value: unknown, what: string): Promise<void> {
  try {
    await page.waitForFunction(([k, v]) => window.ydoc!.map()[k as string] === v, [key, value] as const, { timeout: 30_000 })
  } catch {
    throw new Error(`${what}: map is ${JSON.stringify(await mapOf(page))}`)
  }
}

describe('y-webrtc in Chromium through a Plaza node', () => {
  it('two pages and two Node providers share a document', async () => {
    const [a, b] = chromium.users.map((u) => u.page)
    const signaling = `${node.url}/y-webrtc`
    for (const page of [a, b]) {
      await page.goto(`${node.httpUrl}/`)
      await page.evaluate(([url]) => window.ydoc!.start(url, 'browser-room'), [signaling] as const)
    }
    await a.waitForFunction(() => window.ydoc!.peers() === 1, undefined, { timeout: 30_000 })
    await a.evaluate(() => window.ydoc!.set('from-a', 'page a'))
    await waitForKey(b, 'from-a', 'page a', "a's write at b")
    await b.evaluate(() => window.ydoc!.set('from-b', 'page b'))
    await waitForKey(a, 'from-b', 'page b', "b's write at a")

    // One after the other: two y-webrtc providers announcing at once can glare and never connect.
    nodePeers.push(await YPeer.start(signaling, 'browser-room'))
    nodePeers.push(await YPeer.start(signaling, 'browser-room'))
    for (const [i, peer] of nodePeers.entries()) {
      await peer.until((p) => p.map['from-a'] === 'page a' && p.map['from-b'] === 'page b', 30_000, `Node provider ${i} synced from the pages`)
      await peer.set(`from-node-${i}`, 'wrtc')
    }
    for (const [i, page] of [a, b].entries()) for (const n of [0, 1]) await waitForKey(page, `from-node-${n}`, 'wrtc', `Node provider ${n}'s write at page ${i}`)
    await nodePeers[0].until((p) => p.map['from-node-1'] === 'wrtc', 30_000, "Node provider 1's write at Node provider 0")
    expect(await metric(node, 'plaza_ywebrtc_publishes_total')).toBeGreaterThan(0)
  }, 120_000)
})
