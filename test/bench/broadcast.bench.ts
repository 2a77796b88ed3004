/**
 * Channel broadcast: 16 members, each its own process, all sending at once. Deliveries per
 * second, latency (send → ChannelMessage at each receiver), and the copies the node relayed per
 * delivery (its plaza_messages_relayed_total metric), over the mesh and relay-only.
 */
import { afterAll, it } from 'vitest'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { fmt, int } from './lib.js'
import { BROADCAST_NODE_ARGS, broadcastRun } from './loads.js'
import { ms, report } from './report.js'

const MEMBERS = 16
const PER_MEMBER = Number(process.env.BENCH_PER_MEMBER ?? 200)
let node: RendezvousProcess
afterAll(() => stopRendezvous(node))

it('channel broadcast: 16 members', async () => {
  node = await startRendezvous({ args: BROADCAST_NODE_ARGS })
  const direct = await broadcastRun(node, 'bcd', { members: MEMBERS, perMember: PER_MEMBER, directLinks: true })
  const relay = await broadcastRun(node, 'bcr', { members: MEMBERS, perMember: PER_MEMBER, directLinks: false })
  const row = (name: string, r: typeof direct) => [
    name,
    String(r.delivered),
    int(r.perSecond),
    ms(r.lat.median),
    ms(r.lat.p99),
    int(r.relayed),
    fmt(r.relayed / r.delivered),
    int(Math.max(0, r.relayed - r.delivered)),
    fmt(r.acks / r.delivered),
    `${int(MEMBERS * (MEMBERS - 1) * PER_MEMBER - r.delivered)} / ${int(r.failures)}`,
  ]
  report('broadcast', 'Channel broadcast: 16 members sending at once', 'npm run bench -- broadcast', [
    ['path', 'deliveries', 'deliveries/s', 'p50', 'p99', 'copies relayed', 'relayed per delivery', 'retransmissions (relayed − deliveries)', 'acks relayed per delivery', 'undelivered / failed sends'],
    row('mesh (direct links, 15 per member)', direct),
    row('relay only (through the rendezvous)', relay),
    ['ratio mesh / relay', '', fmt(direct.perSecond / relay.perSecond), fmt(direct.lat.median / relay.lat.median), fmt(direct.lat.p99 / relay.lat.p99), '', '', '', '', ''],
  ], [
    `16 members, each a separate Node process (@roamhq/wrtc), one rendezvous process, all on this 2-core machine; each member (test/bench/servers/channel-member.mjs) sends ${PER_MEMBER} timestamped messages, 20 per 1 ms tick without waiting for each to be acknowledged (an app broadcasting does not), while all the others do the same; a member waits at most 15 s after its own sends have settled for the others' messages; latency = receive time − send time on the same clock, at every receiver. On one machine the mesh's 120 WebRTC links compete with everything else for 2 cores, which is the mesh's worst case.`,
    'Copies relayed: growth of the node\'s plaza_messages_relayed_total{kind="channel"} (GET /metrics) from the start of the timed part until it stands still after the last delivery; deliveries are counted at the receivers (each message once). In relay-only mode every delivery needs one relayed copy, so anything above 1.00 per delivery is a retransmission; over the mesh copies go through the node only while a link is not up.',
  ])
}, 15 * 60_000)
