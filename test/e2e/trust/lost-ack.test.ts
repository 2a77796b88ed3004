import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FileStorage, type PlazaClient } from '@plaza/client'
import { FrameType, PeerFrameType, RelayStatus, decodePeerFrame } from '@plaza/protocol'
import { closeClients, makeClient } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until } from '../../helpers/wait.js'
import { RawClient, textFrame } from '../../helpers/raw-client.js'
import { textOf } from './util.js'

// Issue 9, item 9: a message delivered whose acknowledgement was lost is sent again through the
// relay as an offline message while the receiver is away; at the receiver's next login (the same
// client, or a reloaded one with durable storage) it must not be delivered a second time.
let node: RendezvousProcess | undefined
const dirs: string[] = []
afterEach(async () => {
  await closeClients()
  await stopRendezvous(node)
  node = undefined
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function receiver(storage?: FileStorage): Promise<{ client: PlazaClient; got: string[] }> {
  const client = makeClient(node!, { directLinks: false, ...(storage ? { storage } : {}) })
  const got: string[] = []
  client.on('MessageFromPeer', (m, from) => {
    if (from === 'la-s') got.push(textOf(m))
  })
  await client.login({ uid: 'la-r', token: await node!.token('la-r') })
  return { client, got }
}

/** The sender gets the message delivered live, "loses" the ACK, and stores the same frame once the receiver is away. */
async function deliverThenStoreAgain(sender: RawClient, logOut: () => Promise<void>): Promise<void> {
  const frame = textFrame('la-stream', 1, 1, 'once')
  sender.send({ type: FrameType.RELAY_TO, reqId: 1, to: 'la-r', offline: true, payload: frame })
  await sender.next((f) => f.type === FrameType.RELAY_FROM && f.payload[0] === PeerFrameType.ACK && decodePeerFrame(f.payload).type === PeerFrameType.ACK)
  await logOut()
  sender.send({ type: FrameType.RELAY_TO, reqId: 2, to: 'la-r', offline: true, payload: frame })
  const stored = await sender.next((f) => f.type === FrameType.RELAY_RESULT && f.reqId === 2)
  expect(stored).toMatchObject({ status: RelayStatus.STORED })
}

describe('a retransmission stored after a lost acknowledgement', () => {
  it('is not delivered again when the same client logs in again', async () => {
    node = await startRendezvous()
    const sender = await RawClient.open(node.url)
    await sender.login('la-s', await node.token('la-s'))
    const r = await receiver()
    await deliverThenStoreAgain(sender, () => r.client.logout())
    await r.client.login({ uid: 'la-r', token: await node.token('la-r') })
    // The stored copy is taken (and acknowledged) at login: wait until the store is empty.
    await until(async () => /^plaza_offline_messages_delivered_total (\d+)/m.exec(await (await fetch(`${node!.httpUrl}/metrics`)).text())?.[1] === '1', 10_000, 'the stored copy acknowledged')
    expect(r.got).toEqual(['once'])
    sender.close()
  })

  it('is not delivered again after a reload, with durable storage', async () => {
    node = await startRendezvous()
    const dir = mkdtempSync(join(tmpdir(), 'plaza-la-'))
    dirs.push(dir)
    const sender = await RawClient.open(node.url)
    await sender.login('la-s', await node.token('la-s'))
    const first = await receiver(new FileStorage(dir))
    await deliverThenStoreAgain(sender, async () => {
      await first.client.flushStorage()
      await first.client.logout()
    })
    // A new page over the same storage.
    const second = await receiver(new FileStorage(dir))
    await until(async () => /^plaza_offline_messages_delivered_total (\d+)/m.exec(await (await fetch(`${node!.httpUrl}/metrics`)).text())?.[1] === '1', 10_000, 'the stored copy acknowledged')
    expect([...first.got, ...second.got]).toEqual(['once'])
    sender.close()
  })
})
