import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PeerMessageState } from '@plaza/client'
import { closeClients, linkOpen, loggedIn } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { until, waitForEvent } from '../helpers/wait.js'

let node: RendezvousProcess
beforeAll(async () => {
  // Links between any two users: these tests are about the links themselves (the policy has its own).
  node = await startRendezvous({ args: ['--link-policy', 'always'] })
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

describe('direct links', () => {
  it('settles simultaneous offers into one working link', async () => {
    const alice = await loggedIn(node, 'g-alice')
    const bob = await loggedIn(node, 'g-bob')
    // Both send at once: both get RELAYED and both start a link.
    const [a, b] = await Promise.all([
      alice.sendMessageToPeer({ text: 'hi bob' }, 'g-bob'),
      bob.sendMessageToPeer({ text: 'hi alice' }, 'g-alice'),
    ])
    expect([a.state, b.state]).toEqual([PeerMessageState.RECEIVED_BY_PEER, PeerMessageState.RECEIVED_BY_PEER])
    await Promise.all([linkOpen(alice, 'g-bob'), linkOpen(bob, 'g-alice')])
    const [a2, b2] = await Promise.all([
      alice.sendMessageToPeer({ text: 'direct?' }, 'g-bob'),
      bob.sendMessageToPeer({ text: 'direct!' }, 'g-alice'),
    ])
    expect([a2.path, b2.path]).toEqual(['direct', 'direct'])
  })

  it('closes an idle link, and builds it again when needed', async () => {
    const alice = await loggedIn(node, 'i-alice', { linkIdleTimeoutMs: 300 })
    await loggedIn(node, 'i-bob')
    await alice.sendMessageToPeer({ text: 'one' }, 'i-bob')
    await linkOpen(alice, 'i-bob')
    await waitForEvent(alice, 'PeerLinkStateChanged', (p, s) => p === 'i-bob' && s === 'closed', 10_000)
    expect(alice.getPeerLinkState('i-bob')).toBe('none')
    const again = await alice.sendMessageToPeer({ text: 'two' }, 'i-bob')
    expect(again).toMatchObject({ state: PeerMessageState.RECEIVED_BY_PEER, path: 'relay' })
    await linkOpen(alice, 'i-bob')
  })

  it('keeps no more links than maxLinks; the others use the relay', async () => {
    const alice = await loggedIn(node, 'c-alice', { maxLinks: 1 })
    await loggedIn(node, 'c-bob')
    await loggedIn(node, 'c-carol')
    await alice.sendMessageToPeer({ text: 'to bob' }, 'c-bob')
    await linkOpen(alice, 'c-bob')
    for (let i = 0; i < 5; i++) {
      const r = await alice.sendMessageToPeer({ text: `to carol ${i}` }, 'c-carol')
      expect(r).toMatchObject({ state: PeerMessageState.RECEIVED_BY_PEER, path: 'relay' })
    }
    expect(alice.getPeerLinkState('c-carol')).toBe('none')
    expect(alice.getPeerLinkState('c-bob')).toBe('open')
  })

  it('closes the link when the peer logs out, and answers PEER_UNREACHABLE afterwards', async () => {
    const alice = await loggedIn(node, 'x-alice')
    const bob = await loggedIn(node, 'x-bob')
    await alice.sendMessageToPeer({ text: 'hello' }, 'x-bob')
    await linkOpen(alice, 'x-bob')
    const closed = waitForEvent(alice, 'PeerLinkStateChanged', (p, s) => p === 'x-bob' && s === 'closed', 10_000)
    await bob.logout()
    await closed
    await until(async () => (await alice.queryPeersOnlineStatus(['x-bob']))['x-bob'] === 'OFFLINE', 5000, 'bob offline')
    const r = await alice.sendMessageToPeer({ text: 'gone?' }, 'x-bob')
    expect(r.state).toBe(PeerMessageState.PEER_UNREACHABLE)
  })
})
