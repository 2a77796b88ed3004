/**
 * Files over the direct link: Plaza media messages (downloadMedia / downloadMediaToFile) against a
 * raw @roamhq/wrtc data channel moving the same bytes, 1, 64 and 512 MiB, rounds interleaved, each
 * side's sender and receiver in processes of their own; and the channel case: 8 members, the time
 * for the 7 receivers to all have a 64 MiB file, fetched from the sender alone vs as a swarm.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, it } from 'vitest'
import { startRendezvous, stopRendezvous, type RendezvousProcess } from '../helpers/rendezvous.js'
import { child, cpuOf, fmt, median, rotate, type Child } from './lib.js'
import { DIRECT_NODE_ARGS } from './paths.js'
import { report } from './report.js'

const MiB = 1024 * 1024
const SIZES = (process.env.BENCH_FILES_SIZES ?? '1,64,512').split(',').map((s) => Number(s) * MiB)
/** Rounds per size (small files vary more, and cost little; runs on this machine swing, so medians of several). */
const roundsFor = (size: number) => Number(process.env.BENCH_ROUNDS ?? (size <= MiB ? 41 : size <= 64 * MiB ? 11 : 5))
/** Files this large and larger go from disk to disk (sender: a path; receiver: downloadMediaToFile). */
const ON_DISK = 256 * MiB
const CHANNEL_BYTES = Number(process.env.BENCH_FILES_CHANNEL_MB ?? 64) * MiB
const CHANNEL_ROUNDS = Number(process.env.BENCH_FILES_CHANNEL_ROUNDS ?? 3)
const RECEIVERS = 7
/** With BENCH_FILES_PROF=<dir>, every child process writes a V8 CPU profile there when it exits. */
const PROF = process.env.BENCH_FILES_PROF
/** With BENCH_TRACE=<dir>, both Plaza peers record every media frame and write each round's record there. */
const TRACE = process.env.BENCH_TRACE
const SKIP_CHANNEL = process.env.BENCH_FILES_CHANNEL === '0'
const SKIP_DIRECT = process.env.BENCH_FILES_DIRECT === '0'

let node: RendezvousProcess
const children: Child[] = []
const dir = mkdtempSync(join(tmpdir(), 'plaza-files-bench-'))
afterAll(async () => {
  await shutdown(children.splice(0))
  await stopRendezvous(node)
  rmSync(dir, { recursive: true, force: true })
})

async function shutdown(cs: Child[]): Promise<void> {
  // Profiles are written on a normal exit only.
  if (PROF) await Promise.all(cs.map((c) => ask(c, { cmd: 'exit' }).catch(() => undefined)))
  if (PROF) await new Promise((r) => setTimeout(r, 500))
  await Promise.all(cs.map((c) => c.kill()))
}

function spawnPeer(role: string, opts: object): Child {
  const env: Record<string, string> = PROF ? { BENCH_PROF_DIR: PROF } : {}
  if (TRACE) env.BENCH_TRACE = '1'
  const c = child('servers/file-peer.mjs', [role, JSON.stringify(opts)], env)
  children.push(c)
  return c
}

type Answer = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
async function ask(c: Child, cmd: object, timeoutMs = 600_000): Promise<Answer> {
  c.write(JSON.stringify(cmd))
  const a = await c.next<Answer>(timeoutMs)
  if (a.error) throw new Error(`${JSON.stringify(cmd).slice(0, 120)}: ${a.error}`)
  return a
}

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000)
const label = (size: number) => (size >= MiB ? `${size / MiB} MiB` : `${size / 1024} KiB`)

function sourceFile(size: number): string {
  const path = join(dir, `src-${size}.bin`)
  writeFileSync(path, new Uint8Array(0))
  for (let at = 0; at < size; at += 16 * MiB) appendFileSync(path, randomBytes(Math.min(16 * MiB, size - at)))
  return path
}

interface DirectRound {
  size: number
  raw: number
  plaza: number
  /** CPU seconds (sender + receiver processes) per 100 MB moved. */
  rawCpu: number
  plazaCpu: number
  /** Media DATA bytes the Plaza sender put on the link / the file's size (1.0 = every byte once). */
  plazaCopies: number
}

async function directRounds(): Promise<DirectRound[]> {
  const S = 'files-s'
  const R = 'files-r'
  const ps = spawnPeer('plaza', { url: node.url, uids: [S] })
  const pr = spawnPeer('plaza', { url: node.url, uids: [R] })
  const rs = spawnPeer('raw-send', {})
  const rr = spawnPeer('raw-recv', {})
  await Promise.all([ps, pr, rs, rr].map((c) => c.next(60_000)))
  // Raw: one offer/answer exchange through this process.
  const offer = await ask(rs, { cmd: 'offer' })
  const answer = await ask(rr, { cmd: 'offer', sdp: offer.sdp })
  await ask(rs, { cmd: 'answer', sdp: answer.sdp })
  await ask(rr, { cmd: 'open' })
  // Plaza: a message each way opens the direct link.
  await ask(ps, { cmd: 'warm', uids: [S], to: [R] })
  await ask(pr, { cmd: 'warm', uids: [R], to: [S] })

  const cpu = () => cpuOf(ps.proc.pid!) + cpuOf(pr.proc.pid!) + cpuOf(rs.proc.pid!) + cpuOf(rr.proc.pid!)
  const out: DirectRound[] = []
  for (const size of SIZES) {
    const disk = size >= ON_DISK
    const path = disk ? sourceFile(size) : undefined
    const made = await ask(ps, { cmd: 'create', uid: S, size, path, name: `bench-${size}.bin` })
    const sent = await ask(ps, { cmd: 'sendPeer', uid: S, mediaId: made.mediaId, to: [R] })
    if (sent.results[0] !== 'RECEIVED_BY_PEER/direct') throw new Error(`media message: ${sent.results[0]}`)
    await ask(pr, { cmd: 'waitMedia', uids: [R], mediaId: made.mediaId })
    const key = `k${size}`
    await ask(rs, { cmd: 'source', key, size, path })
    console.log(`files: ${label(size)} (created in ${fmt(made.createMs / 1000, 1)} s${disk ? ', on disk' : ''})`)
    for (let r = 0; r < roundsFor(size); r++) {
      const row: DirectRound = { size, raw: 0, plaza: 0, rawCpu: 0, plazaCpu: 0, plazaCopies: 0 }
      for (const p of rotate(['raw', 'plaza'] as const, r)) {
        const c0 = cpu()
        if (p === 'raw') {
          const a = await ask(rr, { cmd: 'fetch', key, size, path: disk ? join(dir, 'raw-dst.bin') : undefined })
          row.raw = mbps(size, a.end - a.start)
          row.rawCpu = ((cpu() - c0) / size) * 1e8
        } else {
          await ask(pr, { cmd: 'links', uids: [R], to: [S] })
          await ask(ps, { cmd: 'counters' })
          const a = await ask(pr, { cmd: 'download', uids: [R], mediaId: made.mediaId, dir: disk ? dir : undefined })
          const res = a.results[0]
          if (res.size !== size) throw new Error(`plaza: ${res.size} of ${size} bytes`)
          row.plaza = mbps(size, res.end - res.start)
          row.plazaCpu = ((cpu() - c0) / size) * 1e8
          if (TRACE) {
            await ask(ps, { cmd: 'trace', file: join(TRACE, `${label(size).replace(' ', '')}-r${r}-send.json`) })
            await ask(pr, { cmd: 'trace', file: join(TRACE, `${label(size).replace(' ', '')}-r${r}-recv.json`) })
          }
          const sc = await ask(ps, { cmd: 'counters' })
          row.plazaCopies = (sc.linkSent + sc.relaySent) / size
          await ask(pr, { cmd: 'release', uids: [R], mediaId: made.mediaId, dir: disk ? dir : undefined })
        }
      }
      console.log(`files: ${label(size)} round ${r + 1}: raw ${fmt(row.raw, 1)} MB/s, Plaza ${fmt(row.plaza, 1)} MB/s (${fmt(row.plaza / row.raw)}), Plaza sender sent ${fmt(row.plazaCopies)} × the file`)
      out.push(row)
    }
    await ask(ps, { cmd: 'release', uids: [S], mediaId: made.mediaId })
    await ask(rs, { cmd: 'drop', key })
    if (path) rmSync(path, { force: true })
  }
  await shutdown([ps, pr, rs, rr])
  return out
}

interface ChannelRound {
  mode: 'sender-only' | 'swarm'
  ms: number
  /** Media DATA bytes the sender's process put on its links (and through the relay). */
  senderUpload: number
  /** Of the bytes the receivers took in, the share that came from the sender. */
  fromSender: number
  senderCpu: number
  /** Downloads that failed and were started again (resuming). */
  retries: number
}

async function channelRounds(): Promise<ChannelRound[]> {
  const S = 'room-s'
  const receivers = Array.from({ length: RECEIVERS }, (_, i) => `room-r${i + 1}`)
  const all = [S, ...receivers]
  const groups = [receivers.slice(0, 4), receivers.slice(4)]
  const cs = spawnPeer('plaza', { url: node.url, uids: [S] })
  const cr = groups.map((uids) => spawnPeer('plaza', { url: node.url, uids }))
  const procs = [cs, ...cr]
  const uidsOf = [[S], ...groups]
  await Promise.all(procs.map((c) => c.next(60_000)))
  const channel = 'files-room'
  await Promise.all(procs.map((c) => ask(c, { cmd: 'join', channel })))
  // Every member sends in the channel: the full mesh (28 links) opens.
  await Promise.all(procs.map((c, i) => ask(c, { cmd: 'warm', uids: uidsOf[i], to: all, channel })))
  const out: ChannelRound[] = []
  for (let r = 0; r < CHANNEL_ROUNDS; r++) {
    for (const mode of rotate(['sender-only', 'swarm'] as const, r)) {
      await Promise.all(procs.map((c, i) => ask(c, { cmd: 'links', uids: uidsOf[i], to: all })))
      const made = await ask(cs, { cmd: 'create', uid: S, size: CHANNEL_BYTES, name: `room-${r}-${mode}.bin` })
      if (mode === 'swarm') await ask(cs, { cmd: 'sendChannel', uid: S, mediaId: made.mediaId, channel })
      else {
        const sent = await ask(cs, { cmd: 'sendPeer', uid: S, mediaId: made.mediaId, to: receivers })
        if (sent.results.some((x: string) => x !== 'RECEIVED_BY_PEER/direct')) throw new Error(`media messages: ${sent.results}`)
      }
      await Promise.all(cr.map((c, i) => ask(c, { cmd: 'waitMedia', uids: groups[i], mediaId: made.mediaId })))
      await Promise.all(procs.map((c) => ask(c, { cmd: 'counters' })))
      const cpu0 = cpuOf(cs.proc.pid!)
      const answers = await Promise.all(cr.map((c, i) => ask(c, { cmd: 'download', uids: groups[i], mediaId: made.mediaId })))
      const senderCpu = cpuOf(cs.proc.pid!) - cpu0
      const results = answers.flatMap((a) => a.results as { uid: string; start: number; end: number; size: number; errors: string[] }[])
      for (const x of results) for (const e of x.errors) console.log(`files: channel ${mode}: ${x.uid}'s download failed at ${e}; downloading again`)
      if (results.some((x) => x.size !== CHANNEL_BYTES)) throw new Error('a receiver got the wrong size')
      const ms = Math.max(...results.map((x) => x.end)) - Math.min(...results.map((x) => x.start))
      const [sc, ...rc] = await Promise.all(procs.map((c) => ask(c, { cmd: 'counters' })))
      let inTotal = 0
      let inFromSender = 0
      for (const c of rc) {
        for (const [from, n] of Object.entries(c.recvFrom as Record<string, number>)) {
          inTotal += n
          if (from === S) inFromSender += n
        }
      }
      const row: ChannelRound = { mode, ms, senderUpload: sc.linkSent + sc.relaySent, fromSender: inFromSender / inTotal, senderCpu, retries: results.reduce((n, x) => n + x.errors.length, 0) }
      console.log(`files: channel round ${r + 1} ${mode}: ${fmt(ms / 1000, 2)} s, sender uploaded ${fmt(row.senderUpload / MiB, 0)} MiB (${fmt(row.fromSender * 100, 0)}% of what receivers took in), ${row.retries} downloads restarted`)
      out.push(row)
      await Promise.all(cr.map((c, i) => ask(c, { cmd: 'release', uids: groups[i], mediaId: made.mediaId })))
      await ask(cs, { cmd: 'release', uids: [S], mediaId: made.mediaId })
    }
  }
  await Promise.all(procs.map((c) => ask(c, { cmd: 'logout' })))
  await shutdown(procs)
  return out
}

it('files: media messages over the direct link against a raw data channel; the channel case, sender-only vs swarm', async () => {
  const load0 = loadavg()[0].toFixed(1)
  node = await startRendezvous({ args: DIRECT_NODE_ARGS })
  const rows: string[][] = []
  const notes: string[] = []
  if (!SKIP_DIRECT) {
    const rounds = await directRounds()
    rows.push(['file size', 'raw data channel', 'Plaza media message', 'Plaza / raw', 'per round (Plaza / raw)', 'CPU s per 100 MB, raw / Plaza (both ends)', 'Plaza sender sent (× file size)'])
    for (const size of SIZES) {
      const rs = rounds.filter((r) => r.size === size)
      rows.push([
        `${label(size)}${size >= ON_DISK ? ' (disk to disk)' : ''}`,
        `${fmt(median(rs.map((r) => r.raw)), 1)} MB/s`,
        `${fmt(median(rs.map((r) => r.plaza)), 1)} MB/s`,
        fmt(median(rs.map((r) => r.plaza / r.raw))),
        rs.map((r) => fmt(r.plaza / r.raw)).join(', '),
        `${fmt(median(rs.map((r) => r.rawCpu)), 2)} / ${fmt(median(rs.map((r) => r.plazaCpu)), 2)}`,
        fmt(median(rs.map((r) => r.plazaCopies)), 2),
      ])
    }
    const copies = median(rounds.map((r) => r.plazaCopies))
    if (copies > 1.5) {
      notes.push(
        `What the Plaza sender sent: ${fmt(copies, 2)} × the file — every block went over the link about twice, so the link and both ends' CPU carried twice the bytes and half of the 4 MiB window held duplicates. In download.ts (onData), a finished piece leaves the in-flight set before it is marked held (verifyAndStore awaits the store's write first), and the schedule() right after asks the same holder for that piece again.`,
      )
    }
    notes.push(
      `Direct link: ${SIZES.map((s) => `${label(s)} × ${roundsFor(s)} rounds`).join(', ')}; raw and Plaza alternating, the order rotated each round; medians over rounds (the ratio is the median of each round's own ratio; a 1 MiB round lasts 15–25 ms and its ratio alone swings 0.5–1.4, hence its many rounds). MB/s = 10^6 bytes per second. Four processes: Plaza sender, Plaza receiver, raw sender, raw receiver (test/bench/servers/file-peer.mjs), plus the rendezvous and the bench; each side idle while the other runs. Loopback on one 2-core machine: sender and receiver share the two cores, so this measures CPU cost per byte as much as the link (the CPU column: user + system seconds of all four peer processes during the run, per 100 MB).`,
      `Plaza: the file is created (hashed) and its message delivered over the open direct link before the clock starts; the time runs from downloadMedia (in memory, a Blob) or downloadMediaToFile (${label(ON_DISK)} and up: the sender created it from a path) to its resolution — 64 KiB blocks, the receiver's 4 MiB window, every 256 KiB piece checked against the manifest, and the whole file's SHA-256 computed as the pieces are stored, in order, and checked at the end (and for a file, fsync'd). Between rounds the receiver releases its copy, so every round fetches every byte. "Plaza sender sent": media DATA bytes (64 KiB blocks with their headers) the sender's process handed to the link during the download, over the file's size — 1.00 is every byte once (counted by wrapping the client's mesh send in the child process; private fields, counting only).`,
      `Raw: one ordered reliable @roamhq/wrtc data channel between two processes (offer/answer passed through the bench), 64 KiB messages; the receiver asks for the file with one message (the clock starts there), the sender sends from memory or reads its file 1 MiB at a time and keeps bufferedAmount ≤ ${(Number(process.env.BENCH_RAW_HIGH_WATER ?? 4 * MiB) / MiB).toFixed(0)} MiB by polling every 1 ms (@roamhq/wrtc never fires bufferedamountlow). The receiver keeps the messages and makes one Blob of them, or writes them to a file in 1 MiB writes, fsyncs and closes it; no hashing, no checks — the floor a careful app could reach by hand.`,
    )
  }
  let channelError: unknown = null
  const rounds = SKIP_CHANNEL ? [] : await channelRounds().catch((err) => ((channelError = err), [] as ChannelRound[]))
  if (channelError) {
    console.log(`files: the channel case failed: ${String(channelError)}`)
    notes.push(`Channel case: FAILED in this run — ${String(channelError).split('\n')[0].slice(0, 300)}`)
  }
  if (rounds.length) {
    const by = (m: ChannelRound['mode']) => rounds.filter((r) => r.mode === m)
    const only = by('sender-only')
    const swarm = by('swarm')
    const t = (rs: ChannelRound[]) => median(rs.map((r) => r.ms)) / 1000
    if (rows.length) rows.push(['', '', '', '', '', '', ''])
    rows.push([`channel of 8: 7 receivers, one ${label(CHANNEL_BYTES)} file`, 'sender-only (7 peer messages)', 'swarm (1 channel message)', 'swarm / sender-only time', 'per round (swarm / sender-only)', 'sender uploaded: sender-only / swarm', ''])
    rows.push([
      `time until all 7 have it (${label(CHANNEL_BYTES)})`,
      `${fmt(t(only), 2)} s`,
      `${fmt(t(swarm), 2)} s`,
      fmt(t(swarm) / t(only)),
      rounds.length >= 2 ? Array.from({ length: CHANNEL_ROUNDS }, (_, i) => fmt(swarm[i].ms / only[i].ms)).join(', ') : '',
      `${fmt(median(only.map((r) => r.senderUpload)) / MiB, 0)} MiB / ${fmt(median(swarm.map((r) => r.senderUpload)) / MiB, 0)} MiB (${fmt(median(only.map((r) => r.senderUpload)) / CHANNEL_BYTES, 2)} / ${fmt(median(swarm.map((r) => r.senderUpload)) / CHANNEL_BYTES, 2)} copies; sender CPU ${fmt(median(only.map((r) => r.senderCpu)), 1)} s / ${fmt(median(swarm.map((r) => r.senderCpu)), 1)} s)`,
      `from the sender: ${fmt(median(only.map((r) => r.fromSender)) * 100, 0)}% / ${fmt(median(swarm.map((r) => r.fromSender)) * 100, 0)}% of what the receivers took in; downloads that failed (MEDIA_UNAVAILABLE) and were started again: ${only.reduce((n, r) => n + r.retries, 0)} / ${swarm.reduce((n, r) => n + r.retries, 0)}`,
    ])
    notes.push(
      `Channel: 8 members in one channel (full mesh of direct links, opened before the clock), in three processes (the sender; 4 receivers; 3 receivers). ${CHANNEL_ROUNDS} rounds, the two modes alternating, a fresh ${label(CHANNEL_BYTES)} file (in memory) each time. Sender-only: the file sent as a peer message to each of the 7, so each fetches from the sender alone; swarm: one channel message, and each receiver also fetches pieces from the other members that have them. All 7 downloads (downloadMedia, into memory) start together; the time runs from the first start to the last resolution (one clock: all processes on one machine). A download that fails (MEDIA_UNAVAILABLE: no holder answered in time) is started again at once, as an app would, resuming from its verified pieces; the time includes that, and the restarts are counted.`,
      `Sender uploaded: media DATA bytes (frame headers included) the sender's process handed to its direct links or the relay during the downloads, counted in the bench's child process by wrapping the client's mesh and session send functions (private fields; counting only). "Copies" = that / the file size (7 receivers fetching every byte once from the sender = 7). "From the sender": of the media DATA bytes the receivers took in, the share that came from the sender (counted at the receivers the same way). Sender CPU: user + system seconds of the sender's process during the downloads.`,
      ...(median(swarm.map((r) => r.fromSender)) > 0.5
        ? [
            `In the swarm the receivers still took most of their bytes from the sender (per round: ${swarm.map((r) => `${fmt(r.fromSender * 100, 0)}%`).join(', ')}). All 7 start together with nothing, so at first the sender is the only holder; a receiver learns what the others hold by asking them (QUERY) every 0.5 s over their links, and asks the others first.`,
          ]
        : []),
      `Loopback on 2 cores with 8 WebRTC peers in 3 processes: the receivers' hashing and copying compete with the sender for the same two cores, so the swarm cannot show the gain it would across machines whose uplinks are the limit; the upload bytes are the machine-independent figure.`,
    )
  }
  notes.push(`Load average (1 min) at the start and end of the run: ${load0} → ${loadavg()[0].toFixed(1)} on ${cpus().length} cores — other work shared this machine; compare the ratios within the run.`)
  report('files', 'Files: media messages over the direct link, and a channel swarm', 'npm run bench -- files', rows, notes)
}, 60 * 60_000)
