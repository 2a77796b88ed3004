import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PeerMessageState, type PlazaClient, type ReceivedMessage } from '@plaza/client'
import { closeClients, loggedIn } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { waitForEvent } from '../helpers/wait.js'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(() => stopRendezvous(node))
afterEach(() => closeClients())

function collect(client: PlazaClient) {
  const got: { text: string; from: string; path: string; offline: boolean }[] = []
  client.on('MessageFromPeer', (m: ReceivedMessage, from, props) => {
    got.push({ text: m.messageType === 'TEXT' ? m.text : '', from, path: props.path, offline: props.isOfflineMessage })
  })
  return got
}

describe('peer messages', () => {
  it('sends the first message through the relay and later ones over the direct link', async () => {
    const alice = await loggedIn(node, 'alice')
    const bob = await loggedIn(node, 'bob')
    const got = collect(bob)
    const first = await alice.sendMessageToPeer({ text: 'hello' }, 'bob')
    expect(first).toMatchObject({ state: PeerMessageState.RECEIVED_BY_PEER, path: 'relay', hasPeerReceived: true })
    await waitForEvent(alice, 'PeerLinkStateChanged', (peer, state) => peer === 'bob' && state === 'open', 20_000)
    const second = await alice.sendMessageToPeer({ text: 'direct now' }, 'bob')
    expect(second).toMatchObject({ state: PeerMessageState.RECEIVED_BY_PEER, path: 'direct' })
    expect(got.map((g) => [g.text, g.path])).toEqual([
      ['hello', 'relay'],
      ['direct now', 'direct'],
    ])
  })
})
