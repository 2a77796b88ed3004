/**
 * Size of @plaza/client in a browser bundle (Vite, minified), alone and with gzip, and which
 * dependencies weigh what. Checks that no Node-only module got in.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { it, expect } from 'vitest'
import { build } from 'vite'
import { report } from './report.js'

async function bundle(entrySource: string): Promise<{ min: number; gzip: number; code: string }> {
  const dir = mkdtempSync(join(resolve(__dirname, '../../demo'), '.bundle-'))
  try {
    writeFileSync(join(dir, 'entry.js'), entrySource)
    await build({
      root: dir,
      logLevel: 'silent',
      configFile: false,
      build: { outDir: join(dir, 'out'), lib: { entry: join(dir, 'entry.js'), formats: ['es'], fileName: 'bundle' }, minify: true, target: 'es2022' },
    })
    const file = readdirSync(join(dir, 'out')).find((f) => f.endsWith('.js'))!
    const code = readFileSync(join(dir, 'out', file), 'utf8')
    return { min: Buffer.byteLength(code), gzip: gzipSync(code).length, code }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`

it('browser bundle size of @plaza/client', async () => {
  const whole = await bundle(`export * from '@plaza/client'`)
  expect(whole.code).not.toMatch(/from\s*["']node:|require\(["'](ws|@roamhq\/wrtc|fs|net)["']\)/)
  const withSimplePeer = await bundle(`export * from '@plaza/client'; export * from '@plaza/client/simple-peer'`)
  const parts: [string, string][] = [
    ['yjs', `export * from 'yjs'`],
    ['y-protocols (sync, awareness)', `export * from 'y-protocols/sync'; export * from 'y-protocols/awareness'`],
    ['@noble/hashes (SHA-256, for media)', `export { sha256 } from '@noble/hashes/sha2.js'`],
    ['idb-keyval', `export * from 'idb-keyval'`],
    ['@plaza/protocol', `export * from '@plaza/protocol'`],
  ]
  const rows: string[][] = [['bundle', 'minified', 'gzipped']]
  rows.push(['@plaza/client, everything it exports', kb(whole.min), kb(whole.gzip)])
  rows.push(['… with @plaza/client/simple-peer (links through simple-peer, optional)', kb(withSimplePeer.min), kb(withSimplePeer.gzip)])
  for (const [name, src] of parts) {
    const b = await bundle(src)
    rows.push([`  of which alone: ${name}`, kb(b.min), kb(b.gzip)])
  }
  // The agora-rtm-sdk 1.x face: its prebuilt UMD bundle (ES2017, everything inside), beside the SDK it replaces.
  const sizeOf = (file: string) => {
    const code = readFileSync(file)
    return { min: code.length, gzip: gzipSync(code).length }
  }
  const agora = sizeOf(resolve(__dirname, '../../packages/agora-rtm/dist/umd/agora-rtm.js'))
  const sdk = sizeOf(resolve(__dirname, '../../node_modules/agora-rtm-sdk/index.js'))
  rows.push(['@plaza/agora-rtm, dist/umd/agora-rtm.js (esbuild, ES2017, UMD)', kb(agora.min), kb(agora.gzip)])
  rows.push(['agora-rtm-sdk 1.5.1, index.js as published (for comparison)', kb(sdk.min), kb(sdk.gzip)])
  report('bundle', 'Browser bundle of @plaza/client', 'npm run bench -- bundle', rows, [
    'Vite (Rollup + esbuild minify), ES2022, no Node modules. Links are built on the browser\'s own RTCPeerConnection; simple-peer is only in the optional @plaza/client/simple-peer entry. The parts are bundled one by one, so they overlap (lib0 is in yjs and y-protocols) and do not add up to the whole. The two agora rows are files as shipped, gzipped here at the default level.',
  ])
})
