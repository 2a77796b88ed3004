import { execFileSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { ReceivedMessageProperties, RtmClient, RtmMessage } from '@plaza/agora-rtm'
import { ensureChromium, openContexts } from '../helpers/browser.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { waitForEvent } from '../helpers/wait.js'
import { agoraLoggedIn, closeAgora } from '../e2e/agora/util.js'

// An agora-rtm-sdk 1.x app built as such apps were (test/fixtures/agora-webpack4: webpack 4,
// Babel that skips node_modules, 'agora-rtm-sdk' aliased to @plaza/agora-rtm), with the package
// installed from its npm pack tarball, then run in Chromium against a real rendezvous.
declare global {
  interface Window {
    app?: {
      log: Record<string, unknown>[]
      AgoraRTM: { BUILD: string; createInstance: unknown }
      start(rendezvousUrl: string, uid: string, token: string): Promise<void>
    }
  }
}

const FIXTURE = resolve(__dirname, '../fixtures/agora-webpack4')
const PACKAGE = resolve(__dirname, '../../packages/agora-rtm')
let dir: string
let node: RendezvousProcess
let chromium: Awaited<ReturnType<typeof openContexts>>
let page: Page
let buildOutput = ''

function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(file, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 })
}

beforeAll(async () => {
  ensureChromium()
  dir = mkdtempSync(join(tmpdir(), 'plaza-webpack4-'))
  for (const f of ['package.json', 'package-lock.json', 'webpack.config.js', 'index.html', 'src']) cpSync(join(FIXTURE, f), join(dir, f), { recursive: true })
  // The toolchain of the time, from the registry, exactly as locked.
  run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], dir)
  // @plaza/agora-rtm as it would be published (npm pack), unpacked where npm puts packages. Its
  // @plaza/* dependencies are inside the bundle, so none are installed beside it.
  const tarball = run('npm', ['pack', '--pack-destination', dir, '--silent'], PACKAGE).trim().split('\n').at(-1)!
  const target = join(dir, 'node_modules/@plaza/agora-rtm')
  mkdirSync(target, { recursive: true })
  run('tar', ['-xzf', join(dir, tarball), '-C', target, '--strip-components=1'], dir)
  // webpack 4 hashes with md4, which Node 17+ has only under the legacy OpenSSL provider.
  buildOutput = run(process.execPath, [join(dir, 'node_modules/webpack-cli/bin/cli.js'), '--config', 'webpack.config.js'], dir, {
    ...process.env,
    NODE_OPTIONS: '--openssl-legacy-provider',
  })
  copyFileSync(join(dir, 'index.html'), join(dir, 'dist/index.html'))
  node = await startRendezvous({ args: ['--static-dir', join(dir, 'dist')] })
  chromium = await openContexts(1)
  page = chromium.users[0].page
}, 600_000)

afterAll(async () => {
  await closeAgora()
  await chromium?.close()
  await stopRendezvous(node)
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('an agora-rtm-sdk 1.x app built with webpack 4', () => {
  it('builds unchanged, taking the prebuilt bundle with its dependencies inside from the package (main/browser)', () => {
    expect(buildOutput).toContain('app.js')
    expect(buildOutput).not.toMatch(/ERROR/)
    const app = readFileSync(join(dir, 'dist/app.js'), 'utf8')
    expect(app).toContain('plaza-agora-rtm-0.1.0')
    // Nothing but the bundle could have supplied the client: @plaza/client is not installed, nor Agora's SDK.
    expect(existsSync(join(dir, 'node_modules/@plaza/client'))).toBe(false)
    expect(existsSync(join(dir, 'node_modules/agora-rtm-sdk'))).toBe(false)
  })

  it('runs in Chromium: logs in, answers a peer message, and sees a member join its channel', async () => {
    await page.goto(`${node.httpUrl}/index.html`)
    expect(await page.evaluate(() => window.app!.AgoraRTM.BUILD)).toBe('plaza-agora-rtm-0.1.0')
    const token = await node.token('wp4-page')
    await page.evaluate(({ url, token }) => window.app!.start(url, 'wp4-page', token), { url: node.url, token })

    const bot: RtmClient = await agoraLoggedIn(node, 'wp4-node')
    const echo = waitForEvent<[RtmMessage, string, ReceivedMessageProperties]>(bot, 'MessageFromPeer', () => true, 20_000)
    expect(await bot.sendMessageToPeer({ text: 'ping' }, 'wp4-page')).toEqual({ hasPeerReceived: true })
    const [message, from] = await echo
    expect(message).toEqual({ messageType: 'TEXT', text: 'echo: ping' })
    expect(from).toBe('wp4-page')

    await bot.createChannel('wp4-room').join()
    await page.waitForFunction(() => window.app!.log.some((e) => e.event === 'MemberJoined' && e.memberId === 'wp4-node'), undefined, { timeout: 20_000 })
    const states = await page.evaluate(() => window.app!.log.filter((e) => e.event === 'ConnectionStateChanged').map((e) => `${e.state}/${e.reason}`))
    expect(states).toEqual(['CONNECTING/LOGIN', 'CONNECTED/LOGIN_SUCCESS'])
  })
})
