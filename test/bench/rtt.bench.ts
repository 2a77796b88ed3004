/**
 * Peer message round trip: from sendMessageToPeer until RECEIVED_BY_PEER (the receiver's
 * acknowledgement came back), over the direct WebRTC link and over the rendezvous relay.
 * The rendezvous is its own process; both clients run here.
 */
import { resolve } from 'node:path'
import { afterAll, it } from 'vitest'
import wrtc from '@roamhq/wrtc'
import { io as ioClient, type Socket } from 'socket.io-client'
import { PeerMessageState, createClient, type PlazaClient } from '@plaza/client'
import { closeClients, linkOpen, loggedIn } from '../helpers/clients.js'
import { APP_ID, startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { startServer } from './procs.js'
import { ms, report, stats } from './report.js'

const PAYLOAD = 'x'.repeat(32)

/** The floor: a raw @roamhq/wrtc data channel, echo round trip, no protocol of ours. */
async function rawWrtc(n: number): Promise<number[]> {
  const a = new wrtc.RTCPeerConnection()
  const b = new wrtc.RTCPeerConnection()
  a.onicecandidate = (e: { candidate: unknown }) => e.candidate && void b.addIceCandidate(e.candidate)
  b.onicecandidate = (e: { candidate: unknown }) => e.candidate && void a.addIceCandidate(e.candidate)
  b.ondatachannel = (e: { channel: { onmessage: (m: { data: unknown }) => void; send(d: unknown): void } }) => {
    e.channel.onmessage = (m) => e.channel.send(m.data)
  }
  const ch = a.createDataChannel('bench')
  const opened = new Promise<void>((r) => (ch.onopen = () => r()))
  await a.setLocalDescription(await a.createOffer())
  await b.setRemoteDescription(a.localDescription)
  await b.setLocalDescription(await b.createAnswer())
  await a.setRemoteDescription(b.localDescription)
  await opened
  const samples: number[] = []
  for (let i = 0; i < WARMUP + n; i++) {
    const t0 = performance.now()
    await new Promise<void>((r) => {
      ch.onmessage = () => r()
      ch.send(PAYLOAD)
    })
    if (i >= WARMUP) samples.push(performance.now() - t0)
  }
  a.close()
  b.close()
  return samples
}

/** The usual server relay: Socket.IO in its own process; B acknowledges through it, as Plaza's receiver does. */
async function socketIo(n: number): Promise<number[]> {
  const server = await startServer([process.execPath, resolve(__dirname, 'servers/socketio-relay.mjs')])
  const connect = async (uid: string) => {
    const s: Socket = ioClient(`http://127.0.0.1:${server.port}`, { transports: ['websocket'] })
    await new Promise<void>((r) => s.once('connect', () => r()))
    s.emit('join', uid)
    return s
  }
  const a = await connect('a')
  const b = await connect('b')
  b.on('msg', (from: string, payload: string) => b.emit('msg', from, `ack:${payload.length}`))
  await new Promise((r) => setTimeout(r, 100)) // let both joins land
  const samples: number[] = []
  for (let i = 0; i < WARMUP + n; i++) {
    const t0 = performance.now()
    await new Promise<void>((r) => {
      a.once('msg', () => r())
      a.emit('msg', 'b', PAYLOAD)
    })
    if (i >= WARMUP) samples.push(performance.now() - t0)
  }
  a.close()
  b.close()
  server.stop()
  return samples
}

/** A never-contacted peer: time to RECEIVED_BY_PEER of the first message, and until the direct link is up. */
async function firstContact(node: RendezvousProcess, pairs: number): Promise<{ first: number[]; link: number[] }> {
  const first: number[] = []
  const link: number[] = []
  for (let i = 0; i < pairs; i++) {
    const a = createClient(APP_ID, { rendezvousUrl: node.url })
    const b = createClient(APP_ID, { rendezvousUrl: node.url })
    await a.login({ uid: `fc-a${i}`, token: await node.token(`fc-a${i}`) })
    await b.login({ uid: `fc-b${i}`, token: await node.token(`fc-b${i}`) })
    const t0 = performance.now()
    const r = await a.sendMessageToPeer({ text: PAYLOAD }, `fc-b${i}`)
    first.push(performance.now() - t0)
    if (r.state !== PeerMessageState.RECEIVED_BY_PEER) throw new Error(`first contact ${i}: ${r.state}`)
    await linkOpen(a, `fc-b${i}`)
    link.push(performance.now() - t0)
    await a.logout()
    await b.logout()
  }
  return { first, link }
}

const N = Number(process.env.BENCH_N ?? 1000)
const WARMUP = 50

let node: RendezvousProcess
afterAll(async () => {
  await closeClients()
  await stopRendezvous(node)
})

async function measure(from: PlazaClient, to: string, expectPath: string): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < WARMUP + N; i++) {
    const t0 = performance.now()
    const r = await from.sendMessageToPeer({ text: `ping ${i}` }, to)
    const dt = performance.now() - t0
    if (r.state !== PeerMessageState.RECEIVED_BY_PEER || r.path !== expectPath) {
      throw new Error(`message ${i}: ${r.state} via ${r.path}, expected ${expectPath}`)
    }
    if (i >= WARMUP) samples.push(dt)
  }
  return samples
}

it('peer message RTT, direct vs relay', async () => {
  node = await startRendezvous()
  const a = await loggedIn(node, 'bench-a')
  await loggedIn(node, 'bench-b')
  await a.sendMessageToPeer({ text: 'open the link' }, 'bench-b')
  await linkOpen(a, 'bench-b')
  const direct = stats(await measure(a, 'bench-b', 'direct'))

  const ra = await loggedIn(node, 'bench-ra', { directLinks: false })
  await loggedIn(node, 'bench-rb', { directLinks: false })
  const relay = stats(await measure(ra, 'bench-rb', 'relay'))
  const floor = stats(await rawWrtc(N))
  const sio = stats(await socketIo(N))
  const fc = await firstContact(node, 20)
  const first = stats(fc.first)
  const linkUp = stats(fc.link)

  const row = (name: string, s: typeof direct) => [name, String(s.n), ms(s.median), ms(s.p99), ms(s.mean), (s.median / floor.median).toFixed(2), (s.p99 / floor.p99).toFixed(2)]
  report(
    'peer-rtt',
    'Peer message round trip (send → acknowledged)',
    'npm run bench -- rtt',
    [
      ['path', 'messages', 'median', 'p99', 'mean', 'median / floor', 'p99 / floor'],
      row('raw @roamhq/wrtc data channel, echo (the floor)', floor),
      row('Plaza direct (WebRTC, with acknowledgement)', direct),
      row('Plaza relay (through the rendezvous)', relay),
      row('Socket.IO server relay, acknowledged through it', sio),
      row('first message to a never-contacted peer (relay, cold)', first),
      row('… until the direct link is open', linkUp),
    ],
    [
      `One message at a time, ${N} each after ${WARMUP} warm-up (first contact: 20 fresh pairs); 32-byte text. Clients run in the bench process (@roamhq/wrtc); the rendezvous and the Socket.IO server each run in their own process; all over loopback. Round trips include the receiver's acknowledgement travelling back on the same path.`,
      'Loopback favours the server paths (no network distance, no server load); the direct path pays SCTP/DTLS costs that a relay hop across the internet would dwarf.',
    ],
  )
})
