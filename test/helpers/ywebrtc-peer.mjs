// An unmodified y-webrtc WebrtcProvider in its own process (y-webrtc keeps its rooms in
// module-level maps: one provider per room per process), driven over IPC by ywebrtc.ts:
//   { cmd: 'start', url, room, password? }   the provider, with @roamhq/wrtc as simple-peer's wrtc
//   { cmd: 'set', key, value }               writes doc.getMap('m')
// It reports { event: 'map', map } after every change of the map, { event: 'peers', webrtcPeers }.
import wrtc from '@roamhq/wrtc'
import { WebSocket } from 'ws'
import * as Y from 'yjs'

// lib0/websocket (y-webrtc's signaling connection) uses the global WebSocket; Node 20 has none.
globalThis.WebSocket ??= WebSocket
const { WebrtcProvider } = await import('y-webrtc')

const doc = new Y.Doc()
const map = doc.getMap('m')
let provider = null
map.observe(() => process.send({ event: 'map', map: map.toJSON() }))

process.on('message', (m) => {
  try {
    if (m.cmd === 'start') {
      provider = new WebrtcProvider(m.room, doc, { signaling: [m.url], password: m.password ?? null, peerOpts: { wrtc } })
      provider.on('peers', (e) => process.send({ event: 'peers', webrtcPeers: e.webrtcPeers }))
    } else if (m.cmd === 'set') map.set(m.key, m.value)
    process.send({ id: m.id, ok: true })
  } catch (err) {
    process.send({ id: m.id, ok: false, error: String(err?.stack ?? err) })
  }
})
process.on('disconnect', () => process.exit(0))
process.send({ event: 'ready' })
