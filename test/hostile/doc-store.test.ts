import { execFileSync } from 'node:child_process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AttributeOp, ErrorCode, FrameType } from '@plaza/protocol'
import { RawClient } from '../helpers/raw-client.js'
import { closeClients, loggedIn } from '../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { bystanders, metric } from './util.js'

// Channel documents on the node's disk: a user (member or not) creating attributes for ever
// new channel names, and members joining and leaving channels over and over.
const dirKb = (dir: string) => Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0])
const WRITES = 'plaza_channel_document_writes_total'

let node: RendezvousProcess
beforeAll(async () => {
  node = await startRendezvous({
    args: ['--doc-quota-app', '200', '--rate-limit', 'attributeWrites=100000/1000', '--rate-limit', 'joins=100000/1000', '--rate-limit', 'sameChannelJoins=100000/1000'],
  })
})
const extraNodes: RendezvousProcess[] = []
afterAll(async () => {
  await stopRendezvous(node)
  for (const n of extraNodes) await stopRendezvous(n)
})
afterEach(() => closeClients())

describe('the channel document store', () => {
  it('holds at most the app’s quota of channels with attributes (QUOTA_EXCEEDED past it); existing ones still take writes', async () => {
    const pair = await bystanders(node)
    // Raw, past the SDK's own write rate (the node's is raised for this test).
    const raw = await RawClient.open(node.url)
    await raw.login('ds-filler', await node.token('ds-filler'))
    const before = dirKb(node.dataDir)
    const write = (reqId: number, channel: string, attrs: [string, string][], op = AttributeOp.ADD_OR_UPDATE) => {
      raw.send({ type: FrameType.CHANNEL_ATTRS_WRITE, reqId, channel, op, attrs, keys: [], notify: false })
      return raw.next((f) => f.type === FrameType.RESULT && f.reqId === reqId, 20_000).then((f) => (f.type === FrameType.RESULT ? ErrorCode[f.code] : '?'))
    }
    const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => write(i + 1, `ds-${i}`, [['k', 'x'.repeat(4000)]])))
    const tally: Record<string, number> = {}
    for (const o of outcomes) tally[o] = (tally[o] ?? 0) + 1
    const after = dirKb(node.dataDir)
    const result = await pair.stop()
    console.log(`300 new channels with 4 KB of attributes, quota 200: ${JSON.stringify(tally)}; data dir ${before} → ${after} KB; bystanders ${result.received}/${result.sent}`)
    expect(tally).toEqual({ OK: 200, QUOTA_EXCEEDED: 100 })
    // A channel already stored still takes writes; clearing one frees its place.
    expect(await write(1001, 'ds-0', [['k', 'changed']])).toBe('OK')
    expect(await write(1002, 'ds-1', [], AttributeOp.CLEAR)).toBe('OK')
    expect(await write(1003, 'ds-new', [['k', 'fits now']])).toBe('OK')
    expect(await write(1004, 'ds-newer', [['k', 'x']])).toBe('QUOTA_EXCEEDED')
    raw.close()
    expect(result).toMatchObject({ received: result.sent, delivered: result.sent, inOrder: true })
  })

  it('does not write when members join and leave channels without attributes', async () => {
    const node = await startRendezvous({ args: ['--rate-limit', 'joins=100000/1000', '--rate-limit', 'sameChannelJoins=100000/1000'] })
    extraNodes.push(node)
    const c = await loggedIn(node, 'ds-hopper', { directLinks: false })
    const raw = await RawClient.open(node.url)
    await raw.login('ds-hopper-raw', await node.token('ds-hopper-raw'))
    const writesBefore = await metric(node, WRITES)
    for (let i = 0; i < 50; i++) {
      raw.send({ type: FrameType.JOIN_CHANNEL, reqId: 2 * i + 1, channel: `ds-hop-${i % 5}` })
      await raw.next((f) => f.type === FrameType.MEMBERS && f.reqId === 2 * i + 1)
      raw.send({ type: FrameType.LEAVE_CHANNEL, reqId: 2 * i + 2, channel: `ds-hop-${i % 5}` })
      await raw.next((f) => f.type === FrameType.RESULT && f.reqId === 2 * i + 2)
    }
    raw.close()
    // A channel with attributes is written once when it empties (its retention clock), not at each join.
    await c.addOrUpdateChannelAttributes('ds-hop-0', { k: 'v' })
    const withAttrs = await metric(node, WRITES)
    const room = c.createChannel('ds-hop-0')
    await room.join()
    await room.leave()
    await new Promise((r) => setTimeout(r, 200))
    const writesAfter = await metric(node, WRITES)
    console.log(`50 joins and leaves of channels without attributes: ${withAttrs - 1 - writesBefore} document writes; one join and leave of a channel with attributes: ${writesAfter - withAttrs}`)
    expect(withAttrs - writesBefore).toBe(1)
    expect(writesAfter - withAttrs).toBe(1)
  })
})
