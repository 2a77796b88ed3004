// A Plaza client in its own process, driven by its parent over IPC (child_process.fork).
// Commands: { id, cmd, ...args } -> { id, ok, value | error }. Events: { event, ... }.
import { createRequire } from 'node:module'
import { createClient, createNativeLink } from '@plaza/client'
import { report, serve } from './ipc-child.mjs'
import { sendPaced } from './send-paced.mjs'

let client = null
const channels = new Map()
/** With `spyLinks` at login: every WebRTC link the client made, for `abuseLinks`, and the BYE frames they brought. */
const links = []
let byes = 0
function spy(link) {
  links.push(link)
  const on = link.on.bind(link)
  link.on = (event, fn) => (event === 'data' ? on(event, (b) => (b[0] === 13 && byes++, fn(b))) : on(event, fn))
  return link
}

/** `webrtc: 'node-datachannel'`: its polyfill instead of @roamhq/wrtc (no STUN servers: none is reachable here). */
function webrtcOptions(webrtc) {
  if (webrtc !== 'node-datachannel') return {}
  return { wrtc: createRequire(import.meta.url)('node-datachannel/polyfill'), rtcConfig: { iceServers: [] } }
}

const commands = {
  async login({ url, appId, uid, token, options, spyLinks, webrtc }) {
    const deps = spyLinks ? { createLink: (o) => spy(createNativeLink(o)) } : {}
    client = createClient(appId, { rendezvousUrl: url, ...webrtcOptions(webrtc), ...(options ?? {}) }, deps)
    client.on('ConnectionStateChanged', (state, reason) => report({ event: 'state', state, reason }))
    client.on('MessageFromPeer', (m, from, props) => report({ event: 'peerMessage', from, text: m.text, path: props.path }))
    await client.login({ uid, token })
  },
  async join({ channel }) {
    const ch = client.createChannel(channel)
    ch.on('ChannelMessage', (m, from) => {
      // Bench messages carry their send time ("t:<ms>:<n>"): report the latency, measured here.
      if (m.text?.startsWith('t:')) report({ event: 'latency', from, ms: Date.now() - Number(m.text.split(':')[1]) })
      else report({ event: 'message', channel, from, text: m.text })
    })
    ch.on('MemberLeft', (uid) => report({ event: 'memberLeft', channel, uid }))
    ch.on('MemberJoined', (uid) => report({ event: 'memberJoined', channel, uid }))
    channels.set(channel, ch)
    await ch.join()
  },
  /** Sends `count` timestamped channel messages, `perTick` at a time. */
  async broadcast({ channel, count, perTick }) {
    const ch = channels.get(channel)
    for (let i = 0; i < count; i++) {
      await ch.sendMessage({ text: `t:${Date.now()}:${i}` })
      if (i % perTick === perTick - 1) await new Promise((r) => setTimeout(r, 1))
    }
  },
  /** This member's overlay neighbours in `channel` (none while it is a full mesh). */
  async overlayLinks({ channel }) {
    return channels.get(channel).overlayLinks
  },
  /** Sends `count` channel messages at once; answers each result. */
  async sendBurst({ channel, count, prefix }) {
    const ch = channels.get(channel)
    return Promise.all(Array.from({ length: count }, (_, i) => ch.sendMessage({ text: `${prefix}${i}` })))
  },
  /** Sends `count` channel messages one every `intervalMs`; answers how many resolved (an error if one threw). */
  async sendPaced({ channel, count, prefix, intervalMs }) {
    return sendPaced(channels.get(channel), count, intervalMs, (i) => `${prefix}${i}`)
  },
  async leave({ channel }) {
    await channels.get(channel).leave()
  },
  /** Sends `count` channel messages at once and calls leave() at once, not waiting for them; answers how many resolved and the errors. */
  async sendThenLeave({ channel, count, prefix }) {
    const ch = channels.get(channel)
    const sends = Array.from({ length: count }, (_, i) => ch.sendMessage({ text: `${prefix}${i}` }))
    await ch.leave()
    const results = await Promise.allSettled(sends)
    return { resolved: results.filter((r) => r.status === 'fulfilled').length, errors: results.filter((r) => r.status === 'rejected').map((r) => String(r.reason)) }
  },
  async members({ channel }) {
    return (await channels.get(channel).getMembers()).sort()
  },
  async send({ channel, count, prefix }) {
    for (let i = 0; i < count; i++) await channels.get(channel).sendMessage({ text: `${prefix}${i}` })
  },
  /** Sends `count` peer messages at once; answers the count of each outcome and of each path. */
  async sendPeer({ to, count, prefix }) {
    const results = await Promise.all(Array.from({ length: count }, (_, i) => client.sendMessageToPeer({ text: `${prefix}${i}` }, to)))
    const tally = {}
    for (const r of results) tally[`${r.state}/${r.path}`] = (tally[`${r.state}/${r.path}`] ?? 0) + 1
    return tally
  },
  async linkState({ peer }) {
    return client.getPeerLinkState(peer)
  },
  /**
   * A hostile peer: for `durationMs`, every `everyMs`, sends `bytes` of zeros straight on each of its
   * links' data channels (past the SDK). Answers how many links were made and how many sends threw.
   */
  async abuseLinks({ bytes, everyMs, durationMs }) {
    const junk = new Uint8Array(bytes)
    let refused = 0
    const end = Date.now() + durationMs
    let made = 0
    while (Date.now() < end) {
      if (links.length !== made) report({ event: 'links', made: (made = links.length) })
      for (const l of links) {
        try {
          l.channel?.send(junk)
        } catch {
          refused++
        }
      }
      await new Promise((r) => setTimeout(r, everyMs))
    }
    return { links: links.length, refused }
  },
  /**
   * A hostile peer with many accounts (the link backoff is per user): for `durationMs`, logs in as
   * the next of `accounts` ({ uid, token }), joins `channel`, and `closeAfterMs` after its first
   * link opens closes every link it has with RTCPeerConnection.close() (no BYE), then logs out.
   * Answers how many accounts it used and how many links it closed.
   */
  async abuseFresh({ url, appId, accounts, channel, closeAfterMs, durationMs }) {
    const end = Date.now() + durationMs
    let used = 0
    let closed = 0
    for (const { uid, token } of accounts) {
      if (Date.now() >= end) break
      used++
      const mine = []
      const c = createClient(appId, { rendezvousUrl: url }, { createLink: (o) => (mine.push(createNativeLink(o)), mine.at(-1)) })
      try {
        await c.login({ uid, token })
        await c.createChannel(channel).join()
        const until = Date.now() + 3000
        while (Date.now() < until && !mine.some((l) => l.connected)) await new Promise((r) => setTimeout(r, 20))
        await new Promise((r) => setTimeout(r, closeAfterMs))
        for (const l of mine) {
          if (!l.connected) continue
          l.pc?.close()
          closed++
        }
        report({ event: 'closed', closed })
      } catch {
        // refused, timed out: the next account
      }
      await c.destroy().catch(() => undefined)
    }
    return { used, closed }
  },
  /** BYE frames (tag 13) that came on this client's links (with `spyLinks`). */
  async byes() {
    return byes
  },
  async logout() {
    await client.logout()
  },
}

serve(commands)
