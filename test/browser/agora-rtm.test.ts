import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type AgoraRTMDefault from '@plaza/agora-rtm'
import { ensureChromium, openContexts } from '../helpers/browser.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

// The prebuilt bundle as agora-rtm-sdk apps load theirs: a plain <script> tag, window.AgoraRTM.
// Two Chromium contexts (two users) on a page the node serves, talking through a real rendezvous.
declare global {
  interface Window {
    AgoraRTM?: typeof AgoraRTMDefault
    /** What the pages below record: events as JSON strings. */
    agoraLog?: string[]
    agoraClient?: ReturnType<typeof AgoraRTMDefault.createInstance>
  }
}

const BUNDLE = resolve(__dirname, '../../packages/agora-rtm/dist/umd/agora-rtm.js')
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>agora-rtm-sdk 1.x app</title>
<script src="agora-rtm.js"></script>
</head><body>
<script>
  // Unchanged agora-rtm-sdk 1.x app code, but for where the rendezvous is.
  AgoraRTM.configure({ rendezvousUrl: location.origin.replace(/^http/, 'ws') });
  window.agoraLog = [];
  window.agoraClient = AgoraRTM.createInstance('test-app');
  window.agoraClient.on('MessageFromPeer', function (message, peerId, props) {
    window.agoraLog.push(JSON.stringify({ event: 'MessageFromPeer', message: message, peerId: peerId, offline: props.isOfflineMessage }));
  });
  window.agoraClient.on('ConnectionStateChanged', function (state, reason) {
    window.agoraLog.push(JSON.stringify({ event: 'ConnectionStateChanged', state: state, reason: reason }));
  });
</script>
</body></html>`

let node: RendezvousProcess
let dir: string
let chromium: Awaited<ReturnType<typeof openContexts>>
let ada: Page
let bo: Page

async function login(page: Page, uid: string): Promise<void> {
  const token = await node.token(uid)
  await page.goto(`${node.httpUrl}/agora.html`)
  await page.evaluate(({ uid, token }) => window.agoraClient!.login({ uid, token }), { uid, token })
}

async function logged(page: Page, event: string): Promise<Record<string, unknown>> {
  const handle = await page.waitForFunction(
    (event) => window.agoraLog!.map((l) => JSON.parse(l)).find((e) => e.event === event),
    event,
    { timeout: 20_000 },
  )
  return (await handle.jsonValue()) as Record<string, unknown>
}

beforeAll(async () => {
  ensureChromium()
  dir = mkdtempSync(join(tmpdir(), 'plaza-agora-page-'))
  copyFileSync(BUNDLE, join(dir, 'agora-rtm.js'))
  writeFileSync(join(dir, 'agora.html'), PAGE)
  node = await startRendezvous({ args: ['--static-dir', dir] })
  chromium = await openContexts(2)
  ;[ada, bo] = chromium.users.map((u) => u.page)
  await login(ada, 'ada')
  await login(bo, 'bo')
}, 120_000)

afterAll(async () => {
  await chromium?.close()
  await stopRendezvous(node)
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('agora-rtm.js in a <script> tag', () => {
  it('defines window.AgoraRTM with createInstance and the SDK enums, and logs in CONNECTED/LOGIN_SUCCESS', async () => {
    const surface = await ada.evaluate(() => ({
      createInstance: typeof window.AgoraRTM!.createInstance,
      connected: window.AgoraRTM!.ConnectionState.CONNECTED,
      online: window.AgoraRTM!.PeerOnlineState.ONLINE,
      errorName: new window.AgoraRTM!.RtmInvalidArgumentError('x').name,
    }))
    expect(surface).toEqual({ createInstance: 'function', connected: 'CONNECTED', online: 'ONLINE', errorName: 'RtmInvalidArgumentError' })
    const state = await logged(ada, 'ConnectionStateChanged')
    expect(state).toMatchObject({ state: 'CONNECTING', reason: 'LOGIN' })
    await ada.waitForFunction(() => window.agoraLog!.some((l) => l.includes('LOGIN_SUCCESS')))
  })

  it('sends a peer message from one page to the other: hasPeerReceived, and MessageFromPeer(message, peerId, props)', async () => {
    const result = await ada.evaluate(() => window.agoraClient!.sendMessageToPeer({ text: 'hello bo' }, 'bo'))
    expect(result).toEqual({ hasPeerReceived: true })
    const got = await logged(bo, 'MessageFromPeer')
    expect(got).toEqual({ event: 'MessageFromPeer', message: { messageType: 'TEXT', text: 'hello bo' }, peerId: 'ada', offline: false })
  })

  it('exchanges a channel message between the pages, with the member id', async () => {
    await bo.evaluate(async () => {
      const channel = window.agoraClient!.createChannel('agora-room')
      channel.on('ChannelMessage', (message, memberId) => {
        window.agoraLog!.push(JSON.stringify({ event: 'ChannelMessage', message, memberId }))
      })
      await channel.join()
    })
    await ada.evaluate(async () => {
      const channel = window.agoraClient!.createChannel('agora-room')
      await channel.join()
      const members = await channel.getMembers()
      if (!members.includes('bo')) throw new Error(`bo is not a member: ${members.join(',')}`)
      await channel.sendMessage({ text: 'hello room' })
    })
    const got = await logged(bo, 'ChannelMessage')
    expect(got).toEqual({ event: 'ChannelMessage', message: { messageType: 'TEXT', text: 'hello room' }, memberId: 'ada' })
  })
})
