// y-webrtc signaling load, run as its own process (ywebrtc-signaling.bench.ts):
//   node ywebrtc-load.mjs subs <url> <topic> <n> <expected>
//     n sockets subscribed to topic; prints {"ready":n}, then {"received":k} once every socket has
//     `expected` publishes (or after "stop" on stdin: what arrived)
//   node ywebrtc-load.mjs pub <url> <topic> <count>
//     one socket; prints {"ready":1}; on "go" publishes `count` signal-sized frames as fast as
//     the socket takes them (waits while more than 1 MiB is unsent); prints {"sent":count}
import { createInterface } from 'node:readline'
import WebSocket from 'ws'

const [mode, url, topic, a3, a4] = process.argv.slice(2)
const out = (o) => console.log(JSON.stringify(o))
const lines = createInterface({ input: process.stdin })

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

if (mode === 'subs') {
  const [n, expected] = [Number(a3), Number(a4)]
  let received = 0
  let full = 0
  let counting = false
  const socks = []
  for (let i = 0; i < n; i += 50) {
    socks.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, async () => {
          const ws = await open()
          let mine = 0
          // Counted, not parsed: the measured side is the server.
          ws.on('message', () => {
            if (!counting) return
            received++
            if (++mine === expected && ++full === n) out({ received })
          })
          ws.send(JSON.stringify({ type: 'subscribe', topics: [topic] }))
          return ws
        }),
      )),
    )
  }
  // Every subscription is in before "ready": a ping after it comes back after it was taken.
  await Promise.all(
    socks.map(
      (ws) =>
        new Promise((resolve) => {
          ws.send(JSON.stringify({ type: 'ping' }))
          ws.once('message', resolve)
        }),
    ),
  )
  counting = true
  out({ ready: socks.length })
  lines.on('line', (l) => {
    if (l === 'stop') out({ received })
  })
} else if (mode === 'pub') {
  const count = Number(a3)
  const ws = await open()
  // A y-webrtc signal as a provider publishes it: an ICE candidate for one peer in the room.
  const frame = JSON.stringify({
    type: 'publish',
    topic,
    data: { to: 'b1c2d3e4-peer-id', from: 'a1b2c3d4-peer-id', type: 'signal', token: 0.123456789, signal: { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host generation 0 ufrag abcd network-id 1', sdpMid: '0', sdpMLineIndex: 0 } } },
  })
  out({ ready: 1 })
  lines.on('line', async (l) => {
    if (l !== 'go') return
    for (let i = 0; i < count; i++) {
      ws.send(frame)
      if (ws.bufferedAmount > 1024 * 1024) while (ws.bufferedAmount > 256 * 1024) await new Promise((r) => setTimeout(r, 1))
      else if (i % 200 === 199) await new Promise((r) => setImmediate(r))
    }
    out({ sent: count })
  })
}
process.stdin.on('end', () => process.exit(0))
