import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent } from '../helpers/agents.js'
import { enterRoom, ensureChromium, openContexts, type BrowserUser } from '../helpers/browser.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { until } from '../helpers/wait.js'

// A page about to go away (beforeunload, pagehide) closes its links with BYE (PROTOCOL.md, "Link
// frames"), while a Node member sends to its room as fast as it can: the Node member closes them
// itself, so none is closed under it while it sends (the moment @roamhq/wrtc can crash in), and none
// counts against the page. The event is dispatched in the page (which stays), so that what is
// tested is the client's part; in a real unload Chromium may tear the connection down before the
// BYE leaves (not asserted here).
const ROOM = 'bye-room'
const TIMES = 3
let node: RendezvousProcess
let chromium: Awaited<ReturnType<typeof openContexts>>
let tab: BrowserUser
let steady: Agent

beforeAll(async () => {
  ensureChromium()
  node = await startRendezvous({ args: ['--dev-tokens'] })
  chromium = await openContexts(1)
  tab = chromium.users[0]!
  await enterRoom(tab.page, node.httpUrl, 'Tab', ROOM, 'student')
  steady = await Agent.start(node, 'steady', { spyLinks: true })
  await steady.call('join', { channel: ROOM })
}, 120_000)

afterAll(async () => {
  await steady?.kill()
  await chromium?.close()
  await stopRendezvous(node)
})

describe('a page about to unload, under traffic', () => {
  it('closes its links with BYE: the Node member gets BYE each time, closes its end itself, and stays up', async () => {
    void steady.call('sendPaced', { channel: ROOM, count: 100_000, prefix: 's:', intervalMs: 2 }, 300_000).catch(() => undefined)
    const exited = steady.exited.then(() => {
      throw new Error(`the Node member exited (${steady.proc.signalCode ?? steady.proc.exitCode})`)
    })
    const linkState = () => steady.call('linkState', { peer: 'Tab' })
    const cycles = (async () => {
      for (let i = 0; i < TIMES; i++) {
        // Link set-up takes seconds here (ICE, with the machine busy); the page makes or takes no link for 2 s after each event.
        // Open at both ends: a link the page still sees connecting closes with no BYE (it has no open channel to say it on).
        const pageLinkState = () => tab.page.evaluate(() => window.plaza!.client.getPeerLinkState('steady'))
        await until(async () => (await linkState()) === 'open' && (await pageLinkState()) === 'open', 30_000, `link open before event ${i}`)
        await tab.page.evaluate((type) => dispatchEvent(new Event(type)), i % 2 ? 'pagehide' : 'beforeunload')
        await until(async () => (await steady.call('byes')) === i + 1, 5_000, `BYE ${i}`)
        await until(async () => (await linkState()) !== 'open', 5_000, `link closed after BYE ${i}`)
      }
    })()
    await Promise.race([cycles, exited])
    expect(steady.proc.exitCode === null && steady.proc.signalCode === null).toBe(true)
  }, 200_000)
})
