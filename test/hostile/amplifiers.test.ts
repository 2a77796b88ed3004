import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FrameType, SyncKind, encodeAwarenessUpdate, ErrorCode } from '@plaza/protocol'
import { closeClients } from '../helpers/clients.js'
import { RawClient } from '../helpers/raw-client.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { bystanders } from './util.js'

// Requests that make the node do much more work than they cost the sender.

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous()
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

async function member(uid: string, channel: string): Promise<RawClient> {
  const c = await RawClient.open(node.url)
  await c.login(uid, await node.token(uid))
  c.send({ type: FrameType.JOIN_CHANNEL, reqId: 1, channel })
  await c.next((f) => f.type === FrameType.MEMBERS)
  return c
}

describe('amplifiers', () => {
  it('a 90 KB awareness frame to 9 others is paid for in bytes: past 16 MiB per 3 s, TOO_OFTEN', async () => {
    const pair = await bystanders(node)
    const members = await Promise.all(Array.from({ length: 9 }, (_, i) => member(`amp-m${i}`, 'amp-room')))
    const sender = await member('amp-sender', 'amp-room')
    const state = JSON.stringify({ uid: 'amp-sender', blob: 'z'.repeat(90_000) })
    let refused = 0
    for (let i = 1; i <= 100; i++) {
      sender.send({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 100 + i, channel: 'amp-room', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload: encodeAwarenessUpdate([{ clientId: 5, clock: i, state }]) })
    }
    for (let i = 1; i <= 100; i++) {
      const f = await sender.next((f) => f.type === FrameType.RESULT && f.reqId === 100 + i, 10_000)
      if (f.type === FrameType.RESULT && f.code === ErrorCode.TOO_OFTEN) refused++
    }
    const forwarded = members[0].frames.filter((f) => f.type === FrameType.CHANNEL_SYNC_FROM_NODE).length
    const result = await pair.stop()
    console.log(`100 awareness frames of 90 KB to a channel of 10: ${100 - refused} forwarded (${((100 - refused) * 9 * 90) / 1024} MB sent by the node), ${refused} refused TOO_OFTEN; bystanders ${result.received}/${result.sent}`)
    // 16 MiB / (90 KB × 9) ≈ 20 (plus what refills while they arrive).
    expect(100 - refused).toBeLessThan(40)
    expect(forwarded).toBeLessThanOrEqual(100 - refused)
    expect(result).toMatchObject({ received: result.sent, delivered: result.sent, inOrder: true })
    for (const c of [...members, sender]) c.close()
  })
})
