// Load generator, run as its own process so that it does not share a CPU budget with the bench:
//   node loadgen.mjs sessions <plaza|ywebrtc|peerjs> <url> <n>   hold n idle sessions; prints {"ready":n}; closes them when its input ends
//   node loadgen.mjs signal <plaza|ywebrtc|peerjs> <url> <count>  A -> B signaling throughput
//   node loadgen.mjs fanout <urls,> <n>                           presence change to n subscribers, spread over the nodes
//   node loadgen.mjs relay <urls,> <pairs> <per-pair>             peer messages relayed, sender and receiver on different nodes
//   node loadgen.mjs logins <urls,> <n>                           login rate, spread over the nodes
// Plaza sessions need PLAZA_APP and PLAZA_SECRET in the environment to mint tokens.
import WebSocket from 'ws'
import { FrameType, MessageKind, PROTOCOL_VERSION, PeerFrameType, decodeServerFrame, encodeFrame, encodePeerFrame, mintToken } from '@plaza/protocol'

const [mode, a1, a2, a3] = process.argv.slice(2)
const APP = process.env.PLAZA_APP
const SECRET = process.env.PLAZA_SECRET
const out = (o) => console.log(JSON.stringify(o))

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

async function plazaSession(url, uid, onFrame) {
  const ws = await open(url)
  ws.binaryType = 'nodebuffer'
  const token = await mintToken(SECRET, { appId: APP, uid })
  await new Promise((resolve, reject) => {
    ws.once('message', (d) => (decodeServerFrame(new Uint8Array(d)).type === FrameType.LOGIN_OK ? resolve() : reject(new Error('login failed'))))
    ws.send(encodeFrame({ type: FrameType.LOGIN, version: PROTOCOL_VERSION, appId: APP, uid, token, resume: '' }))
  })
  if (onFrame) ws.on('message', (d) => onFrame(decodeServerFrame(new Uint8Array(d))))
  return ws
}

async function session(kind, url, id, onMessage) {
  if (kind === 'plaza') return plazaSession(url, id, onMessage)
  if (kind === 'ywebrtc') {
    const ws = await open(url)
    ws.send(JSON.stringify({ type: 'subscribe', topics: [id] }))
    if (onMessage) ws.on('message', (d) => onMessage(JSON.parse(String(d))))
    return ws
  }
  // peerjs: the server answers OPEN once the id is registered (listen before it can arrive)
  const ws = new WebSocket(`${url}/peerjs?key=peerjs&id=${id}&token=t${id}`)
  await new Promise((resolve, reject) => {
    ws.once('message', resolve)
    ws.once('error', reject)
  })
  if (onMessage) ws.on('message', (d) => onMessage(JSON.parse(String(d))))
  return ws
}

async function inBatches(n, size, make) {
  const all = []
  for (let i = 0; i < n; i += size) all.push(...(await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => make(i + j)))))
  return all
}

if (mode === 'sessions') {
  const [kind, url, n] = [a1, a2, Number(a3)]
  const socks = await inBatches(n, 200, (i) => session(kind, url, `idle${i}`))
  // Plaza sessions keep contact, as clients do (a ping every 2 s), or the node would end them.
  if (kind === 'plaza') {
    let i = 0
    setInterval(() => {
      for (let k = 0; k < Math.ceil(socks.length / 20); k++) socks[i++ % socks.length].send(encodeFrame({ type: FrameType.PING, ts: Date.now() }))
    }, 100)
  }
  out({ ready: socks.length })
  process.stdin.resume()
  // Input closed: Plaza sessions log out (so the node ends them now, not after its silence
  // timeout: a next round measures from an empty node), then every socket closes.
  process.stdin.on('end', async () => {
    await Promise.all(
      socks.map(
        (ws) =>
          new Promise((resolve) => {
            ws.once('close', resolve)
            if (kind === 'plaza') ws.send(encodeFrame({ type: FrameType.LOGOUT, reqId: 1 }))
            ws.close()
          }),
      ),
    )
    process.exit(0)
  })
} else if (mode === 'signal') {
  const [kind, url, count] = [a1, a2, Number(a3)]
  let got = 0
  let done
  const finished = new Promise((r) => (done = r))
  const onB = (m) => {
    const hit = kind === 'plaza' ? m.type === FrameType.SIGNAL_FROM : kind === 'ywebrtc' ? m.type === 'publish' : m.type === 'OFFER'
    if (hit && ++got === count) done()
  }
  const b = await session(kind, url, 'sigB', onB)
  const a = await session(kind, url, 'sigA')
  // y-webrtc: only B subscribes to the topic A publishes on (a subscribed sender gets its own
  // messages back, and the server would send twice per delivery).
  if (kind === 'ywebrtc') b.send(JSON.stringify({ type: 'subscribe', topics: ['room'] }))
  await new Promise((r) => setTimeout(r, 200))
  const data = JSON.stringify({ type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host', sdpMid: '0' } })
  const frame =
    kind === 'plaza'
      ? encodeFrame({ type: FrameType.SIGNAL_TO, to: 'sigB', data })
      : kind === 'ywebrtc'
        ? JSON.stringify({ type: 'publish', topic: 'room', data })
        : JSON.stringify({ type: 'OFFER', dst: 'sigB', payload: data })
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    a.send(frame)
    if (i % 500 === 499) await new Promise((r) => setImmediate(r))
  }
  await finished
  const s = (performance.now() - t0) / 1000
  out({ perSecond: Math.round(count / s), seconds: s })
  process.exit(0)
} else if (mode === 'fanout') {
  // Subscribers spread over the nodes given (one node: all on it); the target on the first.
  const urls = a1.split(',')
  const n = Number(a2)
  const arrivals = []
  let t0 = 0
  const subs = await inBatches(n, 200, async (i) => {
    const ws = await plazaSession(urls[i % urls.length], `fan${i}`, (f) => {
      if (f.type === FrameType.PRESENCE_STATES && f.reqId === 0 && f.states.some((s) => s.uid === 'fan-target' && s.state === 'OFFLINE')) arrivals.push(performance.now() - t0)
    })
    ws.send(encodeFrame({ type: FrameType.SUBSCRIBE_PRESENCE, reqId: 1, uids: ['fan-target'] }))
    return ws
  })
  const target = await plazaSession(urls[0], 'fan-target')
  await new Promise((r) => setTimeout(r, 1000))
  t0 = performance.now()
  target.send(encodeFrame({ type: FrameType.LOGOUT, reqId: 7 }))
  const deadline = Date.now() + 60_000
  while (arrivals.length < subs.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  arrivals.sort((x, y) => x - y)
  const at = (q) => arrivals[Math.min(arrivals.length - 1, Math.floor(q * arrivals.length))]
  out({ subscribers: subs.length, received: arrivals.length, p50: at(0.5), p99: at(0.99), max: arrivals.at(-1) })
  for (const ws of subs) ws.terminate()
  process.exit(0)
} else if (mode === 'relay') {
  // Each pair: a sender on node i, its receiver on node i+1 (the same node when there is one);
  // up to 64 messages in flight per sender (RELAY_RESULT frees a slot), as the SDK's window does.
  const urls = a1.split(',')
  const [pairs, perPair] = [Number(a2), Number(a3)]
  let received = 0
  let done
  const finished = new Promise((r) => (done = r))
  const total = pairs * perPair
  const receivers = await inBatches(pairs, 100, (i) =>
    plazaSession(urls[(i + 1) % urls.length], `rr${i}`, (f) => {
      if (f.type === FrameType.RELAY_FROM && ++received === total) done()
    }),
  )
  const senders = await inBatches(pairs, 100, (i) => plazaSession(urls[i % urls.length], `rs${i}`))
  const t0 = performance.now()
  await Promise.all(
    senders.map(
      (ws, i) =>
        new Promise((resolveSender) => {
          let sent = 0
          let inFlight = 0
          const pump = () => {
            while (inFlight < 64 && sent < perPair) {
              sent++
              inFlight++
              const payload = encodePeerFrame({ type: PeerFrameType.MESSAGE, stream: `s${i}`, channel: '', seq: sent, floor: 1, sentTs: Date.now(), kind: MessageKind.TEXT, text: 'x'.repeat(100), bytes: new Uint8Array(0), description: '' })
              ws.send(encodeFrame({ type: FrameType.RELAY_TO, reqId: sent, to: `rr${i}`, offline: false, payload }))
            }
            if (sent === perPair && inFlight === 0) resolveSender()
          }
          ws.on('message', (d) => {
            const f = decodeServerFrame(new Uint8Array(d))
            if (f.type === FrameType.RELAY_RESULT || f.type === FrameType.RESULT) {
              inFlight--
              pump()
            }
          })
          pump()
        }),
    ),
  )
  await Promise.race([finished, new Promise((r) => setTimeout(r, 30_000))])
  const s = (performance.now() - t0) / 1000
  out({ perSecond: Math.round(received / s), received, total, seconds: s })
  for (const ws of [...senders, ...receivers]) ws.terminate()
  process.exit(0)
} else if (mode === 'logins') {
  const urls = a1.split(',')
  const n = Number(a2)
  const t0 = performance.now()
  const socks = await inBatches(n, 100, (i) => plazaSession(urls[i % urls.length], `login${i}`))
  const s = (performance.now() - t0) / 1000
  out({ perSecond: Math.round(n / s), seconds: s })
  for (const ws of socks) ws.terminate()
  process.exit(0)
}
