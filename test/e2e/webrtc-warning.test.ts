/**
 * A client without WebRTC (the browser entry in Node: no RTCPeerConnection, no wrtc) says so at
 * login with a Warning (WEBRTC_UNAVAILABLE) and still works, through the relay; a client with
 * WebRTC says nothing.
 */
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { ErrorCode, type PlazaError } from '@plaza/protocol'
import type { PlazaClient, ReceivedMessage, PeerMessageProps } from '@plaza/client'
import { APP_ID, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { closeClients, makeClient } from '../helpers/clients.js'
import { waitForEvent } from '../helpers/wait.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous({ args: ['--link-policy', 'always'] })
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

describe('WEBRTC_UNAVAILABLE', () => {
  it('the browser entry in Node warns at login that direct links are off, and relays', async () => {
    // dist/index.js by path: the entry for browsers and bundlers (no ws, no wrtc wired in).
    const browserEntry = (await import(resolve(__dirname, '../../packages/client/dist/index.js'))) as typeof import('@plaza/client')
    const bare = browserEntry.createClient(APP_ID, { rendezvousUrl: node.url, WebSocket: WebSocket as never })
    const warnings: PlazaError[] = []
    bare.on('Warning', (w) => void warnings.push(w))
    const withRtc = makeClient(node)
    const rtcWarnings: PlazaError[] = []
    withRtc.on('Warning', (w) => void rtcWarnings.push(w))

    await bare.login({ uid: 'bare', token: await node.token('bare') })
    await withRtc.login({ uid: 'rtc', token: await node.token('rtc') })
    expect(warnings.map((w) => w.code)).toEqual([ErrorCode.WEBRTC_UNAVAILABLE])
    expect(warnings[0].message).toMatch(/direct links are off/)
    expect(rtcWarnings).toEqual([])

    const got = waitForEvent<[ReceivedMessage, string, PeerMessageProps]>(withRtc as PlazaClient, 'MessageFromPeer', (m) => m.messageType === 'TEXT' && m.text === 'hello')
    expect((await bare.sendMessageToPeer({ text: 'hello' }, 'rtc')).hasPeerReceived).toBe(true)
    const [, from, props] = await got
    expect(from).toBe('bare')
    expect(props.path).toBe('relay')
    expect(bare.getPeerLinkState('rtc')).not.toBe('open')

    // Told once: a second login does not repeat it.
    await bare.logout()
    await bare.login({ uid: 'bare', token: await node.token('bare') })
    expect(warnings.length).toBe(1)
    await bare.logout()
  })
})
