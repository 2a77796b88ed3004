import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, FrameType } from '@plaza/protocol'
import { closeClients, linkOpen, loggedIn } from '../helpers/clients.js'
import { RawClient, textFrame } from '../helpers/raw-client.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

// A direct link shows each side the other's IP addresses (ICE). Who may open one is the app's
// policy; the node refuses to forward signaling the policy does not allow.
const OFFER = JSON.stringify({ l: 'link-1', s: { type: 'offer', sdp: 'v=0' } })

let contacts: RendezvousProcess
let relayOnly: RendezvousProcess
let always: RendezvousProcess
beforeAll(async () => {
  ;[contacts, relayOnly, always] = await Promise.all([
    startRendezvous(),
    startRendezvous({ args: ['--link-policy', 'relay-only'] }),
    startRendezvous({ args: ['--link-policy', 'contacts', '--link-policy', 'test-app=always'] }),
  ])
})
afterAll(async () => {
  for (const n of [contacts, relayOnly, always]) await stopRendezvous(n)
})
afterEach(() => closeClients())

async function raw(node: RendezvousProcess, uid: string): Promise<RawClient> {
  const c = await RawClient.open(node.url)
  await c.login(uid, await node.token(uid))
  return c
}
/** Sends an offer from `a` to `b`; says whether `b` got it ('delivered') or `a` was refused (the code). */
async function signal(a: RawClient, b: RawClient, to: string): Promise<string> {
  a.send({ type: FrameType.SIGNAL_TO, to, data: OFFER })
  const first = await Promise.race([
    b.next((f) => f.type === FrameType.SIGNAL_FROM).then(() => 'delivered'),
    a.next((f) => f.type === FrameType.SIGNAL_FAILED).then((f) => (f.type === FrameType.SIGNAL_FAILED ? ErrorCode[f.code] : '?')),
  ])
  return first
}

describe('the direct-link policy', () => {
  it('contacts (the default): a stranger’s signaling never reaches the victim; contacts and channel members link', async () => {
    const [victim, stranger] = await Promise.all([raw(contacts, 'lp-victim'), raw(contacts, 'lp-stranger')])
    expect(await signal(stranger, victim, 'lp-victim')).toBe('NOT_PERMITTED')
    // One-way messages do not make a contact.
    stranger.send({ type: FrameType.RELAY_TO, reqId: 1, to: 'lp-victim', offline: false, payload: textFrame('s1', 1, 1, 'hello?') })
    await victim.next((f) => f.type === FrameType.RELAY_FROM)
    expect(await signal(stranger, victim, 'lp-victim')).toBe('NOT_PERMITTED')
    expect(victim.frames.some((f) => f.type === FrameType.SIGNAL_FROM)).toBe(false)
    // An answer makes them contacts.
    victim.send({ type: FrameType.RELAY_TO, reqId: 2, to: 'lp-stranger', offline: false, payload: textFrame('v1', 1, 1, 'hi') })
    await stranger.next((f) => f.type === FrameType.RELAY_FROM)
    expect(await signal(stranger, victim, 'lp-victim')).toBe('delivered')
    // Members of a shared channel link without any message.
    const [m1, m2] = await Promise.all([raw(contacts, 'lp-m1'), raw(contacts, 'lp-m2')])
    for (const [c, id] of [[m1, 1], [m2, 2]] as const) {
      c.send({ type: FrameType.JOIN_CHANNEL, reqId: id, channel: 'lp-room' })
      await c.next((f) => f.type === FrameType.MEMBERS)
    }
    expect(await signal(m1, m2, 'lp-m2')).toBe('delivered')
    for (const c of [victim, stranger, m1, m2]) c.close()
  })

  it('contacts, through the SDK: a one-way sender stays on the relay; a conversation gets its direct link', async () => {
    const a = await loggedIn(contacts, 'lp-a')
    const b = await loggedIn(contacts, 'lp-b')
    for (let i = 0; i < 3; i++) expect(await a.sendMessageToPeer({ text: `one-way ${i}` }, 'lp-b')).toMatchObject({ state: 'RECEIVED_BY_PEER', path: 'relay' })
    expect(a.getPeerLinkState('lp-b')).not.toBe('open')
    await b.sendMessageToPeer({ text: 'a reply' }, 'lp-a')
    await linkOpen(b, 'lp-a')
    expect(await b.sendMessageToPeer({ text: 'direct now' }, 'lp-a')).toMatchObject({ state: 'RECEIVED_BY_PEER', path: 'direct' })
  })

  it('relay-only: not even channel members link; everything still arrives through the node', async () => {
    const [m1, m2] = await Promise.all([raw(relayOnly, 'lr-m1'), raw(relayOnly, 'lr-m2')])
    for (const [c, id] of [[m1, 1], [m2, 2]] as const) {
      c.send({ type: FrameType.JOIN_CHANNEL, reqId: id, channel: 'lr-room' })
      await c.next((f) => f.type === FrameType.MEMBERS)
    }
    expect(await signal(m1, m2, 'lr-m2')).toBe('NOT_PERMITTED')
    const a = await loggedIn(relayOnly, 'lr-a')
    const b = await loggedIn(relayOnly, 'lr-b')
    await a.sendMessageToPeer({ text: 'x' }, 'lr-b')
    await b.sendMessageToPeer({ text: 'y' }, 'lr-a')
    const rooms = [a.createChannel('lr-room2'), b.createChannel('lr-room2')]
    // b joined after a: a knows of it once the node's MemberJoined arrives.
    const bJoined = new Promise<void>((resolve) => rooms[0].on('MemberJoined', (uid: string) => uid === 'lr-b' && resolve()))
    for (const r of rooms) await r.join()
    await bJoined
    expect(await rooms[0].sendMessage({ text: 'to the room' })).toMatchObject({ members: 1, received: 1 })
    expect(await a.sendMessageToPeer({ text: 'again' }, 'lr-b')).toMatchObject({ state: 'RECEIVED_BY_PEER', path: 'relay' })
    for (const c of [m1, m2]) c.close()
  })

  it('is set per app: an app set to always links strangers', async () => {
    const [x, y] = await Promise.all([raw(always, 'la-x'), raw(always, 'la-y')])
    expect(await signal(x, y, 'la-y')).toBe('delivered')
    x.close()
    y.close()
  })
})
