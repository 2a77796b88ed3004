import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enterRoom, ensureChromium, openContexts, type BrowserUser } from '../helpers/browser.js'
import { MemberHost } from '../helpers/members.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { until } from '../helpers/wait.js'
import { metric } from '../hostile/util.js'

// Issue 14: the classroom demo, unchanged, with 32 members — four Chromium pages and 28 Node
// members (4 to a process) — in one room, above the overlay's default threshold (24): the
// room's chat goes member to member through the overlay, none of it through the node, and every
// member gets every message once.
const PAGES = 4
const PROCESSES = 7
const PER_PROCESS = 4
const ROOM = 'big-class'
// Node members below the node's and Chromium's priority (see overlay-64.heavy.test.ts); no STUN servers.
const NICE = ['/usr/bin/nice', '-n', '10']
const OPTIONS = { rtcConfig: { iceServers: [] } }

let node: RendezvousProcess
let browser: { users: BrowserUser[]; close(): Promise<void> } | undefined
const hosts: MemberHost[] = []
beforeAll(async () => {
  ensureChromium()
  node = await startRendezvous({ args: ['--dev-tokens'] })
}, 60_000)
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.exit()))
  await browser?.close()
  await stopRendezvous(node)
})

const relayedChannelMessages = () => metric(node, 'plaza_messages_relayed_total', 'kind="channel"')
type Overlay = { links: string[]; count: number }
const pageOverlay = (u: BrowserUser) =>
  u.page.evaluate(() => {
    const { channel } = (window as unknown as { plaza: { channel: { overlayLinks: string[]; memberCount: number } } }).plaza
    return { links: channel.overlayLinks, count: channel.memberCount }
  }) as Promise<Overlay>

describe('the classroom demo with 32 members', () => {
  it('runs its chat through the overlay: every member gets every message once, none through the node', async () => {
    const t0 = Date.now()
    browser = await openContexts(PAGES)
    const pages = browser.users
    const names = pages.map((_, i) => `Page${i}`)
    for (let i = 0; i < PAGES; i++) await enterRoom(pages[i]!.page, node.httpUrl, names[i]!, ROOM, i === 0 ? 'teacher' : 'student')
    for (let p = 0; p < PROCESSES; p++) {
      hosts.push(await MemberHost.start(node, Array.from({ length: PER_PROCESS }, (_, i) => `Node${p}-${i}`), { prefix: NICE, options: OPTIONS }))
    }
    const members = hosts.flatMap((h) => h.uids.map((uid) => ({ uid, host: h })))
    for (const h of hosts) await Promise.all(h.uids.map((uid) => h.call(uid, 'join', { channel: ROOM })))
    const total = PAGES + members.length
    console.log(`${total} members in ${Date.now() - t0} ms`)

    // Every page lists everyone, and the overlay forms (pages and Node members alike).
    for (const u of pages) await until(async () => (await u.page.locator('[data-testid="members"] [data-member]').count()) === total, 60_000, 'the member list')
    let last = ''
    await until(
      async () => {
        const counts = [...(await Promise.all(pages.map(pageOverlay))).map((o) => o.links.length), ...(await Promise.all(members.map((m) => m.host.call<string[]>(m.uid, 'overlayLinks')))).map((l) => l.length)]
        const now = `pages ${counts.slice(0, PAGES).join(' ')}, Node members ${counts.slice(PAGES).join(' ')}`
        if (now !== last) console.log(`${Date.now() - t0} ms: overlay links: ${now}`)
        last = now
        return counts.every((n) => n >= 2)
      },
      90_000,
      'overlay links',
    )
    for (const o of await Promise.all(pages.map(pageOverlay))) {
      expect(o.count).toBe(total)
      expect(o.links.length).toBeLessThanOrEqual(10)
    }
    console.log(`overlay formed ${Date.now() - t0} ms in`)

    const relayedBefore = await relayedChannelMessages()
    // Each page writes in the chat; some Node members write too.
    for (let i = 0; i < PAGES; i++) {
      await pages[i]!.page.getByTestId('chat-input').fill(`hello from ${names[i]}`)
      await pages[i]!.page.getByTestId('chat-send').click()
    }
    const writers = members.filter((_, i) => i % 7 === 0)
    await Promise.all(writers.map((m) => m.host.call(m.uid, 'sendPaced', { uid: m.uid, count: 2, prefix: `${m.uid}:`, intervalMs: 50 })))

    const chatFrom = (u: BrowserUser, from: string) => u.page.locator(`[data-testid="chat-log"] li[data-from="${from}"]`)
    for (const u of pages) {
      for (let i = 0; i < PAGES; i++) {
        if (pages[i] === u) continue
        await chatFrom(u, names[i]!).filter({ hasText: `hello from ${names[i]}` }).waitFor({ timeout: 30_000 })
      }
      for (const w of writers) await chatFrom(u, w.uid).filter({ hasText: `${w.uid}:1` }).waitFor({ timeout: 30_000 })
    }
    const texts = (m: { uid: string; host: MemberHost }) => m.host.events.filter((e) => e.uid === m.uid && e.event === 'message').map((e) => `${e.from}>${String(e.text)}`)
    const expected = (m: { uid: string }) => [...names.map((n) => `${n}>hello from ${n}`), ...writers.filter((w) => w.uid !== m.uid).flatMap((w) => [`${w.uid}>${w.uid}:0`, `${w.uid}>${w.uid}:1`])].sort()
    await until(() => members.every((m) => texts(m).length >= expected(m).length), 30_000, 'every message at every Node member')
    for (const m of members) expect(texts(m).sort()).toEqual(expected(m))
    // Once on each page: each of the others' messages is one line in the chat.
    for (const u of pages) {
      for (let i = 0; i < PAGES; i++) if (pages[i] !== u) expect(await chatFrom(u, names[i]!).filter({ hasText: `hello from ${names[i]}` }).count()).toBe(1)
      for (const w of writers) expect(await chatFrom(u, w.uid).count()).toBe(2)
    }
    expect(await relayedChannelMessages()).toBe(relayedBefore)
  }, 300_000)
})
