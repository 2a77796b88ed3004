/**
 * Channel broadcast: 16 members, each its own process, all sending at once. Deliveries per
 * second and latency (send → ChannelMessage at each receiver), over the mesh and relay-only.
 */
import { afterAll, it } from 'vitest'
import { Agent } from '../helpers/agents.js'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { ms, report, stats } from './report.js'

const MEMBERS = 16
const PER_MEMBER = Number(process.env.BENCH_PER_MEMBER ?? 200)
let node: RendezvousProcess
let agents: Agent[] = []
afterAll(async () => {
  await Promise.all(agents.map((a) => a.kill()))
  await stopRendezvous(node)
})

async function round(directLinks: boolean): Promise<{ perSecond: number; lat: ReturnType<typeof stats>; delivered: number }> {
  agents = await Promise.all(Array.from({ length: MEMBERS }, (_, i) => Agent.start(node, `bc${directLinks ? 'd' : 'r'}${i}`, { options: { directLinks } })))
  const room = `bench-room-${directLinks ? 'direct' : 'relay'}`
  for (const a of agents) await a.call('join', { channel: room })
  // Warm up: a few messages each so that the links exist before measuring.
  await Promise.all(agents.map((a) => a.call('send', { channel: room, count: 3, prefix: 'warm' })))
  await Promise.all(agents.map((a) => a.until((ev) => ev.filter((e) => e.event === 'message').length >= 3 * (MEMBERS - 1), 60_000, 'warm-up')))
  await new Promise((r) => setTimeout(r, directLinks ? 5000 : 500))
  const expected = PER_MEMBER * (MEMBERS - 1)
  const t0 = Date.now()
  await Promise.all(agents.map((a) => a.call('broadcast', { channel: room, count: PER_MEMBER, perTick: 20 }, 120_000)))
  await Promise.all(agents.map((a) => a.until((ev) => ev.filter((e) => e.event === 'latency').length >= expected, 120_000, 'all deliveries')))
  const seconds = (Date.now() - t0) / 1000
  const lat = agents.flatMap((a) => a.events.filter((e) => e.event === 'latency').map((e) => e.ms as number))
  await Promise.all(agents.map((a) => a.kill()))
  agents = []
  return { perSecond: lat.length / seconds, lat: stats(lat), delivered: lat.length }
}

it('channel broadcast: 16 members', async () => {
  node = await startRendezvous({ args: ['--rate-limit', 'channelRelay=1000000/1000'] })
  const direct = await round(true)
  const relay = await round(false)
  report('broadcast', 'Channel broadcast: 16 members sending at once', 'npm run bench -- broadcast', [
    ['path', 'deliveries', 'deliveries/s', 'p50', 'p99'],
    ['mesh (direct links, 15 per member)', String(direct.delivered), Math.round(direct.perSecond).toLocaleString('en'), ms(direct.lat.median), ms(direct.lat.p99)],
    ['relay only (through the rendezvous)', String(relay.delivered), Math.round(relay.perSecond).toLocaleString('en'), ms(relay.lat.median), ms(relay.lat.p99)],
    ['ratio mesh / relay', '', (direct.perSecond / relay.perSecond).toFixed(2), (direct.lat.median / relay.lat.median).toFixed(2), (direct.lat.p99 / relay.lat.p99).toFixed(2)],
  ], [
    `16 members, each a separate Node process (@roamhq/wrtc), one rendezvous process, all on this 2-core machine; each member sends ${PER_MEMBER} timestamped messages (20 per ms tick) while all the others do the same; latency = receive time − send time on the same clock, at every receiver. On one machine the mesh's 120 WebRTC links compete with everything else for 2 cores, which is the mesh's worst case.`,
  ])
}, 10 * 60_000)
