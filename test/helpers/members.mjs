// Several Plaza clients in one process (one member each), driven by the parent over IPC
// (test/helpers/members.ts). Commands: { id, cmd, uid, ...args } -> { id, ok, value | error }.
// Events: { event: 'batch', items: [{ uid, event, ... }] }. One process holds many members so that
// what @roamhq/wrtc costs per process (its threads, a fake audio device ticking every 10 ms) is paid
// once for them all.
import { createClient } from '@plaza/client'
import wrtc from '@roamhq/wrtc'
import { flushReports, report, serve } from './ipc-child.mjs'
import { sendPaced } from './send-paced.mjs'

// PLAZA_MEMBERS_COUNT_PCS=1: counts peer connections made and closed here, printed at exit.
const pcs = { made: 0, closed: 0 }
if (process.env.PLAZA_MEMBERS_COUNT_PCS) {
  const proto = wrtc.RTCPeerConnection.prototype
  const sld = proto.setLocalDescription
  proto.setLocalDescription = function (...a) {
    pcs.made++
    return sld.apply(this, a)
  }
  const close = proto.close
  proto.close = function (...a) {
    pcs.closed++
    return close.apply(this, a)
  }
}

const clients = new Map()
const channels = new Map()

const commands = {
  /** Exits normally (so that --cpu-prof and the like write their output). */
  async exit() {
    flushReports()
    if (process.env.PLAZA_MEMBERS_COUNT_PCS) console.error(`peer connections: ${JSON.stringify(pcs)}`)
    setImmediate(() => process.exit(0))
  },
  async login({ uid, url, appId, token, options }) {
    const client = createClient(appId, { rendezvousUrl: url, ...(options ?? {}) })
    client.on('ConnectionStateChanged', (state, reason) => report({ uid, event: 'state', state, reason }))
    clients.set(uid, client)
    await client.login({ uid, token })
  },
  async join({ uid, channel }) {
    const ch = clients.get(uid).createChannel(channel)
    ch.on('ChannelMessage', (m, from) => {
      // Timed messages ("t:<ms>:<n>", sendTimed) report their latency, measured here.
      if (m.text?.startsWith('t:')) report({ uid, event: 'latency', from, ms: Date.now() - Number(m.text.split(':')[1]) })
      else report({ uid, event: 'message', from, text: m.text })
    })
    channels.set(uid, ch)
    await ch.join()
  },
  /** Peer connections made and closed in this process so far (with PLAZA_MEMBERS_COUNT_PCS). */
  async peerConnections() {
    return pcs
  },
  /** Sends `count` timestamped channel messages ("t:<ms>:<n>"), one every `intervalMs`. */
  async sendTimed({ uid, count, intervalMs }) {
    return sendPaced(channels.get(uid), count, intervalMs, (i) => `t:${Date.now()}:${i}`)
  },
  async overlayLinks({ uid }) {
    return channels.get(uid).overlayLinks
  },
  /** Sends `count` channel messages one every `intervalMs`; answers the count once every send resolved (an error if one threw). */
  async sendPaced({ uid, count, prefix, intervalMs }) {
    return sendPaced(channels.get(uid), count, intervalMs, (i) => `${prefix}${i}`)
  },
}

serve(commands)
