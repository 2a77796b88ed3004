// One channel member in its own process, for the broadcast benches:
//   node channel-member.mjs '{"url":...,"uid":...,"channel":...,"members":16,"count":200,"perTick":20,"directLinks":false}'
// Prints {"joined":1} once in the channel. On "warm" (stdin) it sends 3 messages and prints
// {"warm":1} when it has every other member's 3. On "go" it sends `count` timestamped messages,
// `perTick` per 1 ms tick, WITHOUT waiting for each to be acknowledged (an app broadcasting does
// not), and prints {"received","lat":[ms...],"failures"} when it has every other member's `count`.
import { createInterface } from 'node:readline'
import { createClient } from '@plaza/client'
import { mintToken } from '@plaza/protocol'

const o = JSON.parse(process.argv[2])
const out = (v) => console.log(JSON.stringify(v))
const client = createClient(process.env.PLAZA_APP, { rendezvousUrl: o.url, directLinks: o.directLinks, messageRateLimit: { count: 100_000_000, windowMs: 1000 }, messageTimeoutMs: 120_000 })
await client.login({ uid: o.uid, token: await mintToken(process.env.PLAZA_SECRET, { appId: process.env.PLAZA_APP, uid: o.uid }) })
const ch = client.createChannel(o.channel)
const others = o.members - 1
let warm = 0
const lat = []
let onWarm = () => {}
let onTimed = () => {}
ch.on('ChannelMessage', (m) => {
  if (m.text.startsWith('t:')) {
    lat.push(Date.now() - Number(m.text.split(':')[1]))
    onTimed()
  } else if (++warm >= 3 * others) onWarm()
})
await ch.join()
out({ joined: 1 })
const lines = createInterface({ input: process.stdin })
lines.on('line', async (line) => {
  if (line === 'warm') {
    const got = new Promise((r) => (onWarm = r))
    if (warm >= 3 * others) onWarm()
    for (let i = 0; i < 3; i++) await ch.sendMessage({ text: `warm${i}` })
    await got
    out({ warm: 1 })
  } else if (line === 'go') {
    const all = others * o.count
    const got = new Promise((r) => (onTimed = () => lat.length >= all && r()))
    onTimed()
    const sends = []
    for (let i = 0; i < o.count; i++) {
      sends.push(ch.sendMessage({ text: `t:${Date.now()}:${i}` }))
      if (i % o.perTick === o.perTick - 1) await new Promise((r) => setTimeout(r, 1))
    }
    const results = await Promise.all(sends)
    // Every send has settled (received, or failed after messageTimeoutMs): what has not arrived 15 s later never will.
    await Promise.race([got, new Promise((r) => setTimeout(r, 15_000))])
    out({ received: lat.length, lat, failures: results.reduce((s, r) => s + r.failures.length, 0) })
  }
})
process.stdin.on('end', () => process.exit(0))
