// Relay load through each system's own client library, run as its own process:
//   node relay-load.mjs '{"role":"recv"|"send","kind":"plaza"|"sio"|"ws","url":...,"pairs":10,
//                         "count":2000,"size":100,"window":256,"rate":0}'
// Receivers r0..r(n-1) acknowledge every message to its sender as Plaza's receivers do (Plaza's
// SDK does it by itself; Socket.IO and raw ws receivers send a small ack back through the server).
// Sender si sends `count` messages of `size` bytes to ri with at most `window` unacknowledged;
// `rate` > 0 paces all senders together at that many messages per second. A sender prints
// {"ready":1} once logged in and warmed up, starts on a "go" line on stdin, and prints
// {"acked","failed","seconds","perSecond"} when every message is acknowledged (or failed).
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import { io } from 'socket.io-client'
import { createClient } from '@plaza/client'
import { mintToken } from '@plaza/protocol'

const o = JSON.parse(process.argv[2])
const { role, kind, url, pairs, count, size } = o
const window = o.window ?? 256
const rate = o.rate ?? 0
const WARM = 20
const out = (v) => console.log(JSON.stringify(v))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const text = (seq) => `${seq}:`.padEnd(size, 'x')

/** Connects one user; returns { send(seq): Promise<boolean> } for a sender, nothing for a receiver. */
async function connect(uid, peer) {
  if (kind === 'plaza') {
    const c = createClient(process.env.PLAZA_APP, {
      rendezvousUrl: url,
      directLinks: false,
      messageRateLimit: { count: 100_000_000, windowMs: 1000 },
      messageTimeoutMs: 120_000,
    })
    await c.login({ uid, token: await mintToken(process.env.PLAZA_SECRET, { appId: process.env.PLAZA_APP, uid }) })
    return {
      send: async (seq) => {
        const r = await c.sendMessageToPeer({ text: text(seq) }, peer)
        return r.state === 'RECEIVED_BY_PEER'
      },
    }
  }
  const waiting = new Map()
  const settle = (seq) => {
    const w = waiting.get(seq)
    waiting.delete(seq)
    w?.(true)
  }
  if (kind === 'sio') {
    const s = io(url, { transports: ['websocket'] })
    await new Promise((r) => s.once('connect', r))
    s.emit('join', uid)
    if (role === 'recv') s.on('msg', (from, payload) => s.emit('msg', from, payload.slice(0, payload.indexOf(':'))))
    else s.on('msg', (_from, seq) => settle(Number(seq)))
    return { send: (seq) => new Promise((r) => (waiting.set(seq, r), s.emit('msg', peer, text(seq)))) }
  }
  // raw ws: [to length][to][payload]; the payload starts with the seq (4 bytes)
  const ws = new WebSocket(`${url}/?uid=${uid}`)
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)))
  const to = Buffer.from(peer ?? '')
  if (role === 'recv') {
    ws.on('message', (d) => {
      const n = d[0]
      const ack = Buffer.allocUnsafe(1 + n + 4)
      d.copy(ack, 0, 0, 1 + n)
      d.copy(ack, 1 + n, 1 + n, 1 + n + 4)
      ws.send(ack)
    })
  } else ws.on('message', (d) => settle(d.readUInt32BE(1 + d[0])))
  return {
    send: (seq) =>
      new Promise((r) => {
        waiting.set(seq, r)
        const f = Buffer.alloc(1 + to.length + size, 120)
        f[0] = to.length
        to.copy(f, 1)
        f.writeUInt32BE(seq, 1 + to.length)
        ws.send(f)
      }),
  }
}

if (role === 'recv') {
  for (let i = 0; i < pairs; i++) await connect(`${o.prefix ?? ''}r${i}`)
  await sleep(200) // Socket.IO: let the joins land
  out({ ready: 1 })
} else {
  const senders = []
  for (let i = 0; i < pairs; i++) senders.push(await connect(`${o.prefix ?? ''}s${i}`, `${o.prefix ?? ''}r${i}`))
  await Promise.all(senders.map(async (s) => { for (let k = 1; k <= WARM; k++) await s.send(k) }))
  out({ ready: 1 })
  await new Promise((r) => createInterface({ input: process.stdin }).once('line', r))
  let acked = 0
  let failed = 0
  const t0 = performance.now()
  await Promise.all(
    senders.map(
      (s) =>
        new Promise((done) => {
          let sent = 0
          let inFlight = 0
          const perPairMs = rate > 0 ? rate / pairs / 1000 : Infinity
          const pump = () => {
            const due = Math.min(count, Math.floor((performance.now() - t0) * perPairMs) + 1)
            while (inFlight < window && sent < due) {
              sent++
              inFlight++
              s.send(WARM + sent).then((ok) => {
                if (ok) acked++
                else failed++
                inFlight--
                pump()
              })
            }
            if (sent === count && inFlight === 0) done()
          }
          if (rate > 0) {
            const tick = setInterval(() => (pump(), sent === count && clearInterval(tick)), 5)
          }
          pump()
        }),
    ),
  )
  const seconds = (performance.now() - t0) / 1000
  out({ acked, failed, seconds, perSecond: acked / seconds })
  process.exit(0)
}
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
