import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { ConnectionState, FileStorage, PeerMessageState, type ReceivedMessage, type SendResult } from '@plaza/client'
import { closeClients, loggedIn, makeClient } from '../helpers/clients.js'
import { startProxy } from '../helpers/proxy.js'
import { startRendezvous, stopRendezvous } from '../helpers/rendezvous.js'
import { until, waitForEvent } from '../helpers/wait.js'

const dirs: string[] = []
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'plaza-client-store-'))
  dirs.push(d)
  return d
}
afterEach(() => closeClients())
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('client storage', () => {
  it('keeps an unacknowledged message across a restart of the client and sends it after login, once', async () => {
    const node = await startRendezvous()
    const proxy = await startProxy(node.port)
    try {
      const dir = freshDir()
      const bob = await loggedIn(node, 'st-bob', { directLinks: false })
      const got: string[] = []
      bob.on('MessageFromPeer', (m: ReceivedMessage) => got.push(m.messageType === 'TEXT' ? m.text : ''))
      const before = makeClient(node, { rendezvousUrl: proxy.url, directLinks: false, storage: new FileStorage(dir) })
      await before.login({ uid: 'st-alice', token: await node.token('st-alice') })
      // Alice's network goes away; she writes anyway; the app (page) then goes away too.
      const reconnecting = waitForEvent(before, 'ConnectionStateChanged', (s) => s === ConnectionState.RECONNECTING)
      proxy.cut()
      await proxy.close()
      await reconnecting
      void before.sendMessageToPeer({ text: 'written offline' }, 'st-bob')
      await before.flushStorage()

      const after = makeClient(node, { directLinks: false, storage: new FileStorage(dir) })
      const settled = waitForEvent<[string, ReceivedMessage, SendResult]>(after, 'OutboxMessageSettled')
      await after.login({ uid: 'st-alice', token: await node.token('st-alice') })
      const [peer, message, result] = await settled
      expect([peer, message, result.state]).toEqual(['st-bob', { messageType: 'TEXT', text: 'written offline' }, PeerMessageState.RECEIVED_BY_PEER])
      expect(got).toEqual(['written offline'])
      // The stream goes on: the next message is in order after it, and nothing is sent twice.
      expect((await after.sendMessageToPeer({ text: 'and then' }, 'st-bob')).state).toBe(PeerMessageState.RECEIVED_BY_PEER)
      await after.flushStorage()
      expect(got).toEqual(['written offline', 'and then'])
    } finally {
      await proxy.close().catch(() => undefined)
      await stopRendezvous(node)
    }
  })

  it('shows cached channel attributes before login, then syncs', async () => {
    const node = await startRendezvous()
    try {
      const dir = freshDir()
      const first = await loggedIn(node, 'dc-a', { storage: new FileStorage(dir) })
      await first.createChannel('dc-room').join()
      await first.setChannelAttributes('dc-room', { notice: 'bring a pencil' })
      await first.flushStorage()
      await first.logout()
      const outsider = await loggedIn(node, 'dc-out')
      await outsider.addOrUpdateChannelAttributes('dc-room', { slide: '2' })

      const again = makeClient(node, { storage: new FileStorage(dir) })
      const ch = again.createChannel('dc-room')
      const cached = await ch.loadCached() // no connection needed
      expect(Object.fromEntries(Object.entries(cached).map(([k, v]) => [k, v.value]))).toEqual({ notice: 'bring a pencil' })
      await again.login({ uid: 'dc-a', token: await node.token('dc-a') })
      await ch.join()
      await until(() => ch.attributes().slide?.value === '2', 5000, 'sync after join')
      expect(ch.attributes().notice.value).toBe('bring a pencil')
    } finally {
      await stopRendezvous(node)
    }
  })
})
