// A Plaza client in its own process running a random workload on its own, for the chaos test.
// argv: url appId uid token logFile storageDir instance seed peersCsv channel
// Everything it sends, every outcome and every delivery is appended to logFile synchronously,
// before the client acknowledges anything: a kill -9 loses no record of what the app got.
import { appendFileSync } from 'node:fs'
import { createClient, FileStorage } from '@plaza/client'

const [url, appId, uid, token, logFile, storageDir, instanceArg, seedArg, peersCsv, channelId] = process.argv.slice(2)
const instance = Number(instanceArg)
const peers = peersCsv.split(',').filter((p) => p !== uid)
let seed = Number(seedArg) >>> 0
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const log = (rec) => appendFileSync(logFile, JSON.stringify({ ...rec, uid, instance, at: Date.now() }) + '\n')

const client = createClient(appId, {
  rendezvousUrl: url,
  storage: new FileStorage(storageDir),
  reconnectMinMs: 200,
  reconnectMaxMs: 2000,
  directLinks: rand() < 0.6,
})
client.on('MessageFromPeer', (m, from, props) => log({ t: 'got', id: m.text, from, path: props.path }))
client.on('OfflineMessagesDropped', (from, count) => log({ t: 'dropped', from, count }))
client.on('OutboxMessageSettled', (_peer, m, r) => log({ t: 'result', id: m.text, state: r.state, restored: true }))
const channel = client.createChannel(channelId)
channel.on('ChannelMessage', (m, from) => log({ t: 'chgot', id: m.text, from }))

let n = instance * 1_000_000
let running = true
async function loop() {
  while (running) {
    await new Promise((r) => setTimeout(r, 20 + rand() * 120))
    if (client.connectionState !== 'CONNECTED' && client.connectionState !== 'RECONNECTING') continue
    const r = rand()
    if (r < 0.6) {
      const to = peers[Math.floor(rand() * peers.length)]
      const id = `p:${uid}:${n}`
      const offline = rand() < 0.7
      log({ t: 'send', id, to, offline, n: n++ })
      client.sendMessageToPeer({ text: id }, to, { enableOfflineMessaging: offline }).then((res) => log({ t: 'result', id, state: res.state }))
    } else if (r < 0.85) {
      if (!channel.joined) continue
      const id = `c:${uid}:${n}`
      log({ t: 'chsend', id, n: n++ })
      channel.sendMessage({ text: id }).then(
        (res) => log({ t: 'chresult', id, failures: res.failures, members: res.members }),
        (err) => log({ t: 'chresult', id, error: String(err?.code ?? err) }),
      )
    } else {
      const key = `k${Math.floor(rand() * 4)}`
      client.addOrUpdateChannelAttributes(channelId, { [key]: `${uid}.${n++}` }).catch(() => undefined)
    }
  }
}

process.on('message', async (m) => {
  if (m.cmd === 'stop') {
    running = false
    process.send?.({ stopped: true })
  } else if (m.cmd === 'state') {
    const attributes = Object.fromEntries(Object.entries(channel.attributes()).map(([k, a]) => [k, a.value]))
    process.send?.({ state: { connection: client.connectionState, joined: channel.joined, attributes } })
  }
})

for (let attempt = 0; ; attempt++) {
  try {
    await client.login({ uid, token })
    break
  } catch {
    await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)))
  }
}
for (;;) {
  try {
    await channel.join()
    break
  } catch {
    await new Promise((r) => setTimeout(r, 500))
    if (client.connectionState === 'DISCONNECTED') break
  }
}
process.send?.({ ready: true })
void loop()
