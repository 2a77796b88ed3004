import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { PlazaChannel, PlazaClient } from '@plaza/client'

declare global {
  interface Window {
    /** What the demo page puts on window (demo/src/main.ts), for code run in the page by `page.evaluate`. */
    plaza?: { client: PlazaClient; channel: PlazaChannel }
  }
}

/** Installs Debian's Chromium through the project's script when it is missing. */
export function ensureChromium(): void {
  execFileSync('bash', [resolve(__dirname, '../../scripts/ensure-tool.sh'), 'chromium', 'chromium'], { stdio: 'inherit' })
}

export interface BrowserUser {
  context: BrowserContext
  page: Page
  close(): Promise<void>
}

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
]

/** A fresh Chromium profile (its own IndexedDB: its own user) with one page. */
export async function openBrowser(extraArgs: string[] = []): Promise<BrowserUser> {
  const dir = mkdtempSync(join(tmpdir(), 'plaza-chromium-'))
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...ARGS, ...extraArgs],
    viewport: { width: 1280, height: 860 },
  })
  const page = context.pages()[0] ?? (await context.newPage())
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * One Chromium with `n` contexts (each its own cookies and IndexedDB: its own user, kept across
 * reloads for the context's life): lighter than a browser per user when a test needs several.
 */
export async function openContexts(n: number, extraArgs: string[] = []): Promise<{ browser: Browser; users: BrowserUser[]; close(): Promise<void> }> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...ARGS, ...extraArgs] })
  const users: BrowserUser[] = []
  for (let i = 0; i < n; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
    const page = await context.newPage()
    users.push({ context, page, close: () => context.close().catch(() => undefined) })
  }
  return { browser, users, close: () => browser.close().catch(() => undefined) }
}

/** Logs in through the demo's form and waits until the room is connected. */
export async function enterRoom(page: Page, url: string, name: string, room: string, role: 'teacher' | 'student'): Promise<void> {
  await page.goto(url)
  await page.getByTestId('login-name').fill(name)
  await page.getByTestId('login-room').fill(room)
  await page.getByTestId('login-role').selectOption(role)
  await page.getByTestId('login-submit').click()
  await page.locator('[data-testid="conn-state"][data-state="CONNECTED"]').waitFor({ timeout: 20_000 })
  // Logged in is not yet in the room: the page joins the channel and asks for the whiteboard after.
  await page.locator('[data-testid="chat-log"] li', { hasText: `You joined ${room}` }).waitFor({ timeout: 20_000 })
}
