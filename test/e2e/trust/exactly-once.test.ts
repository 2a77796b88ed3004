import { afterEach, describe, expect, it } from 'vitest'
import { ConnectionState, PeerMessageState, type SendResult } from '@plaza/client'
import { FrameType, PeerFrameType, decodePeerFrame } from '@plaza/protocol'
import { closeClients, loggedIn, makeClient } from '../../helpers/clients.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../../helpers/rendezvous.js'
import { until, waitForEvent } from '../../helpers/wait.js'
import { startDelayProxy, type DelayProxy } from './delay-proxy.js'
import { RawClient, textFrame } from '../../helpers/raw-client.js'
import { textOf } from './util.js'

// Issue 9, item 9: exactly-once gaps.
let node: RendezvousProcess | undefined
let proxy: DelayProxy | undefined
afterEach(async () => {
  await closeClients()
  await proxy?.close()
  proxy = undefined
  await stopRendezvous(node)
  node = undefined
})

/** Whether a relayed frame is an ACK of `stream` up to at least `upTo`. */
function isAck(f: { type: FrameType; payload?: Uint8Array }, stream: string, upTo: number): boolean {
  if (f.type !== FrameType.RELAY_FROM || !f.payload || f.payload[0] !== PeerFrameType.ACK) return false
  const p = decodePeerFrame(f.payload)
  return p.type === PeerFrameType.ACK && p.stream === stream && p.upTo >= upTo
}

describe('de-duplication state', () => {
  it('another peer opening 10 001 streams cannot make a receiver deliver a retransmission twice', async () => {
    node = await startRendezvous({ args: ['--rate-limit', 'messages=1000000/1000'] })
    const v = await loggedIn(node, 'eo-v', { directLinks: false })
    const fromHonest: string[] = []
    let fromAttacker = 0
    v.on('MessageFromPeer', (m, from) => {
      if (from === 'eo-h') fromHonest.push(textOf(m))
      else if (from === 'eo-x') fromAttacker++
    })

    // The honest sender's message arrives; its acknowledgement is "lost" (the sender will retry).
    const honest = await RawClient.open(node.url)
    await honest.login('eo-h', await node.token('eo-h'))
    const frame = textFrame('honest-stream', 1, 1, 'hello')
    honest.send({ type: FrameType.RELAY_TO, reqId: 1, to: 'eo-v', offline: false, payload: frame })
    await honest.next((f) => isAck(f as never, 'honest-stream', 1), 10_000)
    expect(fromHonest).toEqual(['hello'])

    // Another user sends one message on each of 10 001 fresh streams.
    const attacker = await RawClient.open(node.url)
    await attacker.login('eo-x', await node.token('eo-x'))
    const N = 10_001
    for (let i = 0; i < N; i++) {
      attacker.send({ type: FrameType.RELAY_TO, reqId: i + 1, to: 'eo-v', offline: false, payload: textFrame(`x${i}`, 1, 1, 'spam') })
    }
    await until(() => attacker.frames.filter((f) => f.type === FrameType.RELAY_RESULT).length >= N, 30_000, 'every attacker frame relayed')
    await until(() => fromAttacker >= N, 30_000, 'the receiver to take every attacker message')

    // The honest sender retransmits (same stream, same seq): the receiver acknowledges it again.
    honest.send({ type: FrameType.RELAY_TO, reqId: 2, to: 'eo-v', offline: false, payload: frame })
    await honest.next((f) => isAck(f as never, 'honest-stream', 1), 10_000)
    expect(fromHonest, 'the retransmitted message is not delivered again').toEqual(['hello'])
    honest.close()
    attacker.close()
  })
})

describe('outcomes across a kill -9 of the node', () => {
  it('no message the receiver got is answered PEER_UNREACHABLE', async () => {
    node = await startRendezvous()
    const own = node
    // The receiver's way to the node can be held (nothing lost, nothing passes) while the
    // sender comes back after the restart: the sender is back first, every time.
    proxy = await startDelayProxy(own.port, 0)
    const heldProxy = proxy
    const receiver = makeClient(own, { directLinks: false, rendezvousUrl: proxy.url })
    const received = new Map<string, number>()
    let killed: Promise<void> | null = null
    receiver.on('MessageFromPeer', (m) => {
      const t = textOf(m)
      received.set(t, (received.get(t) ?? 0) + 1)
      // Kill the node in the middle of the stream, before this message's acknowledgement leaves.
      if (received.size === 300 && !killed) {
        killed = own.kill()
        heldProxy.hold(true)
      }
    })
    await receiver.login({ uid: 'eo-kr', token: await own.token('eo-kr') })
    const sender = await loggedIn(own, 'eo-ks', { directLinks: false, messageTimeoutMs: 20_000 })

    const sends: Promise<SendResult>[] = []
    for (let i = 0; i < 1000; i++) sends.push(sender.sendMessageToPeer({ text: `m${i}` }, 'eo-kr'))
    await until(() => killed !== null, 20_000, 'the kill')
    await killed
    const senderBack = waitForEvent(sender, 'ConnectionStateChanged', (s) => s === ConnectionState.CONNECTED, 20_000)
    const receiverBack = waitForEvent(receiver, 'ConnectionStateChanged', (s) => s === ConnectionState.CONNECTED, 40_000)
    await own.restart()
    await senderBack
    // A round trip after the sender's reconnect: the node has answered every copy the sender
    // sent again at once (frames of one socket are handled in order).
    expect(await sender.queryPeersOnlineStatus(['eo-kr'])).toEqual({ 'eo-kr': 'OFFLINE' })
    heldProxy.hold(false)
    const results = await Promise.all(sends)
    await receiverBack

    const states: Record<string, number> = {}
    for (const r of results) states[r.state] = (states[r.state] ?? 0) + 1
    const lies = results.map((r, i) => ({ r, text: `m${i}` })).filter(({ r, text }) => r.state === PeerMessageState.PEER_UNREACHABLE && received.has(text))
    const timedOutButGot = results.filter((r, i) => r.state === PeerMessageState.SENT_TIMEOUT && received.has(`m${i}`)).length
    const twice = [...received.values()].filter((n) => n > 1).length
    console.log(
      `outcomes: ${JSON.stringify(states)}; received by the app: ${received.size}; ` +
        `PEER_UNREACHABLE but received: ${lies.length}; SENT_TIMEOUT but received: ${timedOutButGot}; received twice: ${twice}`,
    )
    expect(twice).toBe(0)
    expect(lies.map((l) => l.text), 'messages the receiver got, answered PEER_UNREACHABLE').toEqual([])
  })
})
