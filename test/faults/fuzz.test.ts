import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import {
  AttributeOp,
  FrameType,
  LinkFrameType,
  MessageKind,
  PROTOCOL_VERSION,
  PeerFrameType,
  SyncKind,
  encodeFrame,
  encodePeerFrame,
  type ClientFrame,
} from '@plaza/protocol'
import { PeerMessageState, type PlazaClient } from '@plaza/client'
import { closeClients, linkOpen, loggedIn } from '../helpers/clients.js'
import { APP_ID, MANY_CONNECTIONS, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'

/** mulberry32, seeded: a failure can be replayed with its seed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const SEED = Number(process.env.FUZZ_SEED ?? 20261121)
const rand = prng(SEED)
const int = (n: number) => Math.floor(rand() * n)

function mutate(valid: Uint8Array): Uint8Array {
  const b = Uint8Array.from(valid)
  switch (int(4)) {
    case 0: // flip bytes
      for (let i = 0; i < 1 + int(4); i++) b[int(b.length)] = int(256)
      return b
    case 1: // truncate
      return b.slice(0, int(b.length))
    case 2: // extend with junk
      return Uint8Array.from([...b, ...Array.from({ length: 1 + int(16) }, () => int(256))])
    default: // random bytes of a plausible size
      return Uint8Array.from({ length: int(64) }, () => int(256))
  }
}

const peerMessage = encodePeerFrame({ type: PeerFrameType.MESSAGE, stream: 'fz', channel: '', seq: 3, floor: 2, sentTs: 1, kind: MessageKind.TEXT, text: 'hello', bytes: new Uint8Array(0), description: '' })
const SEEDS: ClientFrame[] = [
  { type: FrameType.PING, ts: 1 },
  { type: FrameType.QUERY_PRESENCE, reqId: 1, uids: ['a', 'b'] },
  { type: FrameType.SUBSCRIBE_PRESENCE, reqId: 2, uids: ['a'] },
  { type: FrameType.SIGNAL_TO, to: 'fz-victim', data: '{"l":"x","s":{"type":"offer","sdp":"v=0"}}' },
  { type: FrameType.RELAY_TO, reqId: 3, to: 'fz-victim', offline: true, payload: peerMessage },
  { type: FrameType.JOIN_CHANNEL, reqId: 4, channel: 'fz-room' },
  { type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 5, channel: 'fz-room', epoch: 0, kind: SyncKind.DOC, notify: true, payload: Uint8Array.from([0, 1, 0]) },
  { type: FrameType.CHANNEL_ATTRS_WRITE, reqId: 6, channel: 'fz-room', op: AttributeOp.SET, attrs: [['k', 'v']], keys: [], notify: true },
  { type: FrameType.USER_ATTRS_WRITE, reqId: 7, op: AttributeOp.ADD_OR_UPDATE, attrs: [['k', 'v']], keys: [] },
  { type: FrameType.INVITE_SEND, reqId: 8, id: 'i1', callee: 'fz-victim', content: 'x', channel: '' },
  { type: FrameType.OFFLINE_ACK, ids: [1, 2, 3] },
  { type: FrameType.LOGOUT, reqId: 9 },
]
const SEED_BYTES = SEEDS.map(encodeFrame)

let node: RendezvousProcess
let victim: PlazaClient
beforeAll(async () => {
  node = await startRendezvous({ args: [...MANY_CONNECTIONS, '--link-policy', 'always', '--rate-limit', 'messages=1000000/1000', '--rate-limit', 'channelRelay=1000000/1000', '--log-level', 'info'] })
  victim = await loggedIn(node, 'fz-victim')
})
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

async function rss(): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text()
  return Number(/^plaza_process_resident_memory_bytes (\d+)/m.exec(text)![1])
}

async function errorCount(): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text()
  return [...text.matchAll(/^plaza_errors_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
}

async function victimStillWorks(tag: string): Promise<void> {
  const friend = await loggedIn(node, `fz-friend-${tag}`, { directLinks: false })
  const r = await friend.sendMessageToPeer({ text: 'still fine?' }, 'fz-victim')
  expect(r.state).toBe(PeerMessageState.RECEIVED_BY_PEER)
}

describe(`fuzzing (seed ${SEED})`, () => {
  it('takes 100k random and mutated frames at the rendezvous without a crash, with bounded memory', async () => {
    const before = await rss()
    const errorsBefore = await errorCount()
    let closedForErrors = 0
    let sent = 0
    let connections = 0
    let answers = 0
    while (sent < 100_000) {
      const ws = new WebSocket(node.url)
      connections++
      await new Promise((r, j) => ws.once('open', r).once('error', j))
      ws.on('message', () => answers++)
      const closed = new Promise<void>((r) =>
        ws.once('close', (code) => {
          if (code === 4002) closedForErrors++
          r()
        }),
      )
      // Half the connections log in first, so that the frames reach the logged-in handlers.
      if (connections % 2 === 0) {
        const uid = `fz-${connections % 20}`
        ws.send(encodeFrame({ type: FrameType.LOGIN, version: PROTOCOL_VERSION, appId: APP_ID, uid, token: await node.token(uid), resume: '' }))
        await new Promise((r) => ws.once('message', r))
      }
      // Until the node closes the connection for too many bad frames, or 2000 frames.
      for (let i = 0; i < 2000 && ws.readyState === ws.OPEN; i++, sent++) {
        ws.send(rand() < 0.1 ? SEED_BYTES[int(SEED_BYTES.length)] : mutate(SEED_BYTES[int(SEED_BYTES.length)]))
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 1)) // let the node answer, or close
      }
      ws.close()
      await closed
    }
    expect((await fetch(`${node.httpUrl}/healthz`)).status).toBe(200)
    const after = await rss()
    const errors = (await errorCount()) - errorsBefore
    console.log(
      `rendezvous fuzz: ${sent} frames over ${connections} connections (${closedForErrors} closed for bad frames), ${answers} answers, ${errors} errors counted; RSS ${(before / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MiB`,
    )
    // Bad frames are answered with codes (and counted), or dropped once their connection is closed.
    expect(errors).toBeGreaterThan(10_000)
    expect(answers).toBeGreaterThan(errors / 2)
    expect(closedForErrors).toBeGreaterThan(0)
    expect(after - before).toBeLessThan(200 * 2 ** 20)
    await victimStillWorks('node')
  }, 240_000)

  it('takes 100k random and mutated peer frames at a client, over its direct link and the relay', async () => {
    const fuzzer = await loggedIn(node, 'fz-peer')
    await fuzzer.sendMessageToPeer({ text: 'hi' }, 'fz-victim')
    await linkOpen(fuzzer, 'fz-victim')
    const heapBefore = process.memoryUsage().heapUsed
    // The fuzzer speaks through its client's own mesh: real frames on the real data channel.
    const mesh = (fuzzer as unknown as { mesh: { send(uid: string, b: Uint8Array): boolean } }).mesh
    const ws = new WebSocket(node.url)
    await new Promise((r) => ws.once('open', r))
    ws.send(encodeFrame({ type: FrameType.LOGIN, version: PROTOCOL_VERSION, appId: APP_ID, uid: 'fz-relay', token: await node.token('fz-relay'), resume: '' }))
    await new Promise((r) => ws.once('message', r))
    const peerSeeds = [
      peerMessage,
      encodePeerFrame({ type: PeerFrameType.ACK, stream: 'fz', upTo: 9, missing: [[2, 3]], known: 1 }),
      encodePeerFrame({ type: PeerFrameType.SYNC, channel: 'fz-room', epoch: 0, kind: SyncKind.AWARENESS, notify: true, payload: Uint8Array.from([0, 1, 0]) }),
    ]
    let direct = 0
    let relayed = 0
    for (let i = 0; i < 100_000; i++) {
      const bytes = mutate(peerSeeds[int(peerSeeds.length)])
      if (i % 2 === 0) {
        // BYE (13) is the link's own "I am closing it": the victim closes the link, as it should.
        if (bytes[0] === LinkFrameType.BYE) bytes[0] = PeerFrameType.MESSAGE
        while (!mesh.send('fz-victim', bytes)) await new Promise((r) => setTimeout(r, 5))
        direct++
      } else {
        ws.send(encodeFrame({ type: FrameType.RELAY_TO, reqId: 0, to: 'fz-victim', offline: false, payload: bytes }))
        relayed++
      }
      if (i % 500 === 499) await new Promise((r) => setImmediate(r))
    }
    ws.close()
    // The link and the victim survive; a real message still arrives, in order after the noise.
    const r = await fuzzer.sendMessageToPeer({ text: 'after the storm' }, 'fz-victim')
    expect(r.state).toBe(PeerMessageState.RECEIVED_BY_PEER)
    global.gc?.()
    const growth = process.memoryUsage().heapUsed - heapBefore
    console.log(`peer fuzz: ${direct} frames direct, ${relayed} relayed; heap growth ${(growth / 2 ** 20).toFixed(1)} MiB`)
    expect(growth).toBeLessThan(64 * 2 ** 20)
    await victimStillWorks('peer')
  }, 240_000)
})
