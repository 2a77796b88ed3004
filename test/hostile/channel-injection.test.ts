import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PlazaClient } from '@plaza/client'
import { closeClients, linkOpen, loggedIn } from '../helpers/clients.js'
import { textFrame } from '../helpers/raw-client.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { waitForEvent } from '../helpers/wait.js'

// A peer with a direct link to a member (from a private chat) writes channel messages for a
// channel it is not in straight over that link, as a modified client would.
let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

const overLink = (c: PlazaClient, to: string, bytes: Uint8Array) => (c as unknown as { mesh: { send(uid: string, b: Uint8Array): boolean } }).mesh.send(to, bytes)

describe('channel messages over a direct link', () => {
  it('are taken only from members of the channel', async () => {
    const ada = await loggedIn(node, 'inj-ada')
    const bo = await loggedIn(node, 'inj-bo')
    const mallory = await loggedIn(node, 'inj-mallory')
    const room = ada.createChannel('inj-room')
    await room.join()
    const boRoom = bo.createChannel('inj-room')
    await boRoom.join()
    // A private chat both ways makes them contacts: a direct link is allowed.
    await mallory.sendMessageToPeer({ text: 'hi' }, 'inj-ada')
    await ada.sendMessageToPeer({ text: 'hello' }, 'inj-mallory')
    await linkOpen(mallory, 'inj-ada')
    await linkOpen(ada, 'inj-mallory')
    const seen: [string, string][] = []
    room.on('ChannelMessage', (m, from) => seen.push([from, m.messageType === 'TEXT' ? m.text : '']))
    for (let seq = 1; seq <= 20; seq++) expect(overLink(mallory, 'inj-ada', textFrame('forged', seq, 1, `forged ${seq}`, 'inj-room'))).toBe(true)
    // A private message after them on the same (ordered) link: when it is in, so are they.
    const after = await mallory.sendMessageToPeer({ text: 'after the forged ones' }, 'inj-ada')
    expect(after).toMatchObject({ state: 'RECEIVED_BY_PEER', path: 'direct' })
    const got = waitForEvent(room, 'ChannelMessage')
    await boRoom.sendMessage({ text: 'from a member' })
    await got
    expect(seen).toEqual([['inj-bo', 'from a member']])
  })
})
