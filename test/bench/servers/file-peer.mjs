// One side of the files bench, in its own process. Commands are JSON lines on stdin; each gets
// exactly one JSON line back on stdout (in order).
//
//   node file-peer.mjs plaza '{"url":...,"uids":["a","b"]}'   Plaza clients (one or more) in this process
//   node file-peer.mjs raw-send '{}'                         the sending end of a raw @roamhq/wrtc data channel
//   node file-peer.mjs raw-recv '{}'                         its receiving end
//
// Times are epoch milliseconds (performance.timeOrigin + performance.now()), comparable across processes.
// Diagnostics: BENCH_PROF_DIR=<dir> writes a V8 CPU profile there on the "exit" command (files.bench.ts
// sets it with BENCH_FILES_PROF); BENCH_TRACE=1 records every media frame sent or received on a link,
// written out by the "trace" command.
import { randomBytes } from 'node:crypto'
import { open, unlink } from 'node:fs/promises'
import { createInterface } from 'node:readline'

const role = process.argv[2]
const o = JSON.parse(process.argv[3] ?? '{}')
const out = (v) => console.log(JSON.stringify(v))
const now = () => performance.timeOrigin + performance.now()
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
/** Media DATA frames (MediaFrameType.DATA in @plaza/protocol). */
const MEDIA_DATA = 5

/** Bytes of a source: `size` random bytes in memory, or a file on disk. */
async function makeBytes(size) {
  const b = new Uint8Array(size)
  for (let at = 0; at < size; at += 1 << 24) b.set(randomBytes(Math.min(1 << 24, size - at)), at)
  return b
}

const handlers = {}
let queue = Promise.resolve()
createInterface({ input: process.stdin }).on('line', (line) => {
  const c = JSON.parse(line)
  // One command at a time, answered in order.
  queue = queue.then(async () => {
    try {
      out(await handlers[c.cmd](c))
    } catch (err) {
      out({ error: String(err?.stack ?? err) })
    }
  })
})
process.stdin.on('end', () => process.exit(0))
// With BENCH_PROF_DIR, a V8 CPU profile of this process (sampling from start to the "exit" command) is written there.
let profiler = null
if (process.env.BENCH_PROF_DIR) {
  const { Session } = await import('node:inspector/promises')
  profiler = new Session()
  profiler.connect()
  await profiler.post('Profiler.enable')
  await profiler.post('Profiler.setSamplingInterval', { interval: 500 })
  await profiler.post('Profiler.start')
}
handlers.exit = async () => {
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(`${process.env.BENCH_PROF_DIR}/${role}-${(o.uids ?? []).join('+') || 'raw'}-${process.pid}.cpuprofile`, JSON.stringify(profile))
  }
  setTimeout(() => process.exit(0), 50)
  return { exit: 1 }
}

// --- Plaza ---------------------------------------------------------------------------------------

if (role === 'plaza') {
  const { createClient } = await import('@plaza/client')
  const { mintToken } = await import('@plaza/protocol')
  const clients = new Map()
  /** uid → { mediaId → message } received; waiters. */
  const got = new Map()
  const waiters = new Set()
  /** Media messages made here, by id. */
  const made = new Map()
  /** Media DATA bytes this process's clients sent over links / through the relay, and received per source. */
  const count = { linkSent: 0, relaySent: 0, recvFrom: {} }
  /** BENCH_TRACE=1: [ms, 's'|'r', frame type, bytes] of every media frame sent or received on a link. */
  const trace = process.env.BENCH_TRACE ? [] : null

  for (const uid of o.uids) {
    const client = createClient(process.env.PLAZA_APP, {
      rendezvousUrl: o.url,
      maxMediaBytes: 2e9,
      mediaCacheBytes: 4e9,
      linkIdleTimeoutMs: 30 * 60_000,
      messageRateLimit: { count: 100_000_000, windowMs: 1000 },
      messageTimeoutMs: 120_000,
    })
    // Bench instrumentation through private fields (read-only counting; not an API).
    const mesh = client.mesh
    const send = mesh.send.bind(mesh)
    mesh.send = (to, bytes) => {
      const ok = send(to, bytes)
      if (ok && bytes[0] === MEDIA_DATA) count.linkSent += bytes.length
      if (trace && bytes[0] >= 4 && bytes[0] <= 9) trace.push([now(), ok ? 's' : 'S', bytes[0], bytes.length])
      return ok
    }
    const session = client.session
    const ssend = session.send.bind(session)
    session.send = (frame) => {
      if (frame?.payload instanceof Uint8Array && frame.payload[0] === MEDIA_DATA) count.relaySent += frame.payload.length
      return ssend(frame)
    }
    mesh.on('data', (from, bytes) => {
      if (bytes[0] === MEDIA_DATA) count.recvFrom[from] = (count.recvFrom[from] ?? 0) + bytes.length
      if (trace && bytes[0] >= 4 && bytes[0] <= 9) trace.push([now(), 'r', bytes[0], bytes.length])
    })
    await client.login({ uid, token: await mintToken(process.env.PLAZA_SECRET, { appId: process.env.PLAZA_APP, uid }) })
    got.set(uid, new Map())
    const note = (m) => {
      if (m.messageType !== 'FILE' && m.messageType !== 'IMAGE') return
      got.get(uid).set(m.mediaId, m)
      for (const w of waiters) w()
    }
    client.on('MessageFromPeer', (m) => note(m))
    clients.set(uid, { client, channels: new Map() })
  }
  const c = (uid) => clients.get(uid).client
  const linksOpen = async (uid, peers, timeoutMs = 30_000) => {
    const t0 = Date.now()
    while (!peers.every((p) => c(uid).getPeerLinkState(p) === 'open')) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`${uid}: links to ${peers.filter((p) => c(uid).getPeerLinkState(p) !== 'open')} not open`)
      await sleep(20)
    }
  }

  handlers.create = async ({ uid, size, path, name }) => {
    const data = path ?? (await makeBytes(size))
    const t0 = now()
    const msg = await c(uid).createMediaMessage(data, { messageType: 'FILE', fileName: name })
    made.set(msg.mediaId, msg)
    return { mediaId: msg.mediaId, size: msg.size, createMs: now() - t0 }
  }
  handlers.sendPeer = async ({ uid, mediaId, to }) => {
    const rs = await Promise.all(to.map((peer) => c(uid).sendMessageToPeer(made.get(mediaId), peer)))
    return { results: rs.map((r) => `${r.state}/${r.path}`) }
  }
  handlers.join = async ({ channel }) => {
    await Promise.all(
      [...clients.entries()].map(async ([uid, { client, channels }]) => {
        const ch = client.createChannel(channel)
        ch.on('ChannelMessage', (m) => {
          if (m.messageType !== 'FILE' && m.messageType !== 'IMAGE') return
          got.get(uid).set(m.mediaId, m)
          for (const w of waiters) w()
        })
        await ch.join()
        channels.set(channel, ch)
      }),
    )
    return { joined: clients.size }
  }
  handlers.members = async ({ channel }) => {
    const out = {}
    for (const [uid, { channels }] of clients) out[uid] = (await channels.get(channel).getMembers()).length
    return out
  }
  handlers.sendChannel = async ({ uid, mediaId, channel }) => {
    const ch = clients.get(uid).channels.get(channel)
    await ch.sendMessage(made.get(mediaId))
    return { sent: 1 }
  }
  // Each of `uids` sends a text to each of `to` (peer messages, or in `channel`) until the links are
  // open: a link attempt that fails (many opening at once on two cores) is tried again only when
  // there is something to send after the client's 5 s pause.
  handlers.warm = async ({ uids, to, channel }) => {
    await Promise.all(
      uids.map(async (uid) => {
        const peers = to.filter((p) => p !== uid)
        for (let attempt = 1; ; attempt++) {
          if (channel) await clients.get(uid).channels.get(channel).sendMessage({ text: 'warm' })
          else await Promise.all(peers.map((p) => c(uid).sendMessageToPeer({ text: 'warm' }, p)))
          try {
            await linksOpen(uid, peers, 6_000)
            break
          } catch (err) {
            if (attempt === 8) throw err
          }
        }
      }),
    )
    return { warm: uids.length }
  }
  handlers.links = async ({ uids, to }) => {
    await Promise.all(uids.map((uid) => linksOpen(uid, to.filter((p) => p !== uid))))
    return { open: 1 }
  }
  handlers.waitMedia = async ({ uids, mediaId, timeoutMs = 60_000 }) => {
    const t0 = Date.now()
    while (!uids.every((u) => got.get(u).has(mediaId))) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`media message ${mediaId} not received by ${uids.filter((u) => !got.get(u).has(mediaId))}`)
      await new Promise((r) => {
        const w = () => (waiters.delete(w), r())
        waiters.add(w)
        setTimeout(w, 100)
      })
    }
    return { received: uids.length }
  }
  // Every uid downloads `mediaId` at once (into memory, or into `dir`/<uid>.bin); the start and end of each.
  handlers.download = async ({ uids, mediaId, dir }) => {
    const results = await Promise.all(
      uids.map(async (uid) => {
        const start = now()
        trace?.push([start, 'B', 0, 0])
        let size
        const errors = []
        // A download that fails (no holder reachable) keeps what it verified: an app downloads again to resume.
        for (;;) {
          try {
            if (dir) size = (await c(uid).downloadMediaToFile(mediaId, `${dir}/${uid}.bin`)).size
            else size = (await c(uid).downloadMedia(mediaId)).size
            break
          } catch (err) {
            errors.push(`${now() - start | 0} ms: ${err?.code ?? ''} ${err?.message ?? err}`)
            if (errors.length > 3) throw err
          }
        }
        const end = now()
        trace?.push([end, 'E', 0, 0])
        return { uid, start, end, size, errors }
      }),
    )
    return { results }
  }
  // Forgets a file everywhere in this process (so that the next download fetches it again).
  handlers.release = async ({ uids, mediaId, dir }) => {
    for (const uid of uids) {
      await c(uid).releaseMedia(mediaId)
      if (dir) await unlink(`${dir}/${uid}.bin`).catch(() => undefined)
    }
    made.delete(mediaId)
    return { released: 1 }
  }
  handlers.counters = async () => {
    const r = JSON.parse(JSON.stringify(count))
    count.linkSent = 0
    count.relaySent = 0
    count.recvFrom = {}
    return r
  }
  handlers.trace = async ({ file }) => {
    const { writeFileSync } = await import('node:fs')
    writeFileSync(file, JSON.stringify(trace ?? []))
    if (trace) trace.length = 0
    return { written: 1 }
  }
  handlers.logout = async () => {
    await Promise.all([...clients.values()].map(({ client }) => client.logout().catch(() => undefined)))
    return { out: 1 }
  }
  out({ ready: 1 })
}

// --- raw @roamhq/wrtc data channel ---------------------------------------------------------------

if (role === 'raw-send' || role === 'raw-recv') {
  const wrtc = (await import('@roamhq/wrtc')).default
  const BLOCK = 64 * 1024
  /** The sender keeps at most this much in the channel's buffer (wrtc never fires bufferedamountlow: it polls). */
  const HIGH_WATER = Number(process.env.BENCH_RAW_HIGH_WATER ?? 4 * 1024 * 1024)
  const pc = new wrtc.RTCPeerConnection()
  /** The local description once ICE gathering is done (no trickle: one exchange through the parent). */
  const described = () =>
    new Promise((resolve) => {
      pc.onicecandidate = (e) => {
        if (!e.candidate) resolve(pc.localDescription)
      }
    })
  let dc = null
  const opened = new Promise((resolve) => {
    const ready = (ch) => {
      ch.binaryType = 'arraybuffer'
      dc = ch
      if (ch.readyState === 'open') resolve()
      else ch.onopen = () => resolve()
    }
    if (role === 'raw-send') ready(pc.createDataChannel('bench', { ordered: true }))
    else pc.ondatachannel = (e) => ready(e.channel)
  })

  if (role === 'raw-send') {
    /** Sources by key: bytes in memory or a path. */
    const sources = new Map()
    handlers.offer = async () => {
      const d = described()
      await pc.setLocalDescription(await pc.createOffer())
      return { sdp: await d }
    }
    handlers.answer = async ({ sdp }) => {
      await pc.setRemoteDescription(sdp)
      await opened
      dc.onmessage = (m) => void serve(JSON.parse(m.data))
      return { open: 1 }
    }
    handlers.source = async ({ key, size, path }) => {
      sources.set(key, path ? { path, size } : { bytes: await makeBytes(size), size })
      return { ok: 1 }
    }
    handlers.drop = async ({ key }) => (sources.delete(key), { ok: 1 })
    const room = async () => {
      while (dc.bufferedAmount > HIGH_WATER) await sleep(1)
    }
    async function serve({ key }) {
      const s = sources.get(key)
      if (s.bytes) {
        for (let at = 0; at < s.size; at += BLOCK) {
          await room()
          dc.send(s.bytes.subarray(at, Math.min(s.size, at + BLOCK)))
        }
        return
      }
      // From disk, read 1 MiB ahead at a time.
      const fh = await open(s.path, 'r')
      try {
        const READ = 1 << 20
        for (let at = 0; at < s.size; at += READ) {
          const buf = new Uint8Array(Math.min(READ, s.size - at))
          let n = 0
          while (n < buf.length) n += (await fh.read(buf, n, buf.length - n, at + n)).bytesRead
          for (let k = 0; k < buf.length; k += BLOCK) {
            await room()
            dc.send(buf.subarray(k, Math.min(buf.length, k + BLOCK)))
          }
        }
      } finally {
        await fh.close()
      }
    }
  } else {
    handlers.offer = async ({ sdp }) => {
      await pc.setRemoteDescription(sdp)
      const d = described()
      await pc.setLocalDescription(await pc.createAnswer())
      return { sdp: await d }
    }
    handlers.open = async () => (await opened, { open: 1 })
    // Asks the sender for `key` and takes its `size` bytes into memory (a Blob at the end, as downloadMedia returns) or into `path` (written, synced, closed).
    handlers.fetch = async ({ key, size, path }) => {
      await opened
      const fh = path ? await open(path, 'w') : null
      const parts = []
      let pending = []
      let pendingBytes = 0
      let writeAt = 0
      let writing = Promise.resolve()
      const flush = () => {
        const chunk = Buffer.concat(pending, pendingBytes)
        const at = writeAt
        writeAt += chunk.length
        pending = []
        pendingBytes = 0
        writing = writing.then(async () => {
          let n = 0
          while (n < chunk.length) n += (await fh.write(chunk, n, chunk.length - n, at + n)).bytesWritten
        })
      }
      let received = 0
      const start = now()
      const all = new Promise((resolve) => {
        dc.onmessage = (m) => {
          const b = new Uint8Array(m.data)
          received += b.length
          if (fh) {
            pending.push(b)
            pendingBytes += b.length
            if (pendingBytes >= 1 << 20 || received >= size) flush()
          } else parts.push(b)
          if (received >= size) resolve()
        }
      })
      dc.send(JSON.stringify({ key }))
      await all
      let got
      if (fh) {
        await writing
        await fh.sync()
        await fh.close()
        got = writeAt
      } else got = new Blob(parts).size
      const end = now()
      dc.onmessage = null
      if (path) await unlink(path).catch(() => undefined)
      if (got !== size) throw new Error(`raw: ${got} of ${size} bytes`)
      return { start, end, size: got }
    }
  }
  out({ ready: 1 })
}
