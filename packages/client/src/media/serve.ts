import {
  MAX_MEDIA_BLOCK_BYTES,
  MediaErrorCode,
  MediaFrameType,
  MediaPart,
  RELAY_MEDIA_BLOCK_BYTES,
  encodeMediaDataHeader,
  encodeMediaFrame,
  type Clock,
  type MediaCancelFrame,
  type MediaQueryFrame,
  type MediaRequestFrame,
  type TimerHandle,
} from '@plaza/protocol'
import type { HeldMedia } from './held.js'
import type { MediaTransport } from './transport.js'

/** What one requester may have queued with us at once; past it BUSY. */
const MAX_QUEUED_PER_PEER = 16 * 1024 * 1024
/** Requesters served at once; past it BUSY. */
const MAX_PEERS_SERVED = 64
/** Read from the store this much at a time. */
const READ_BYTES = 1024 * 1024
/** A job's first read is smaller: its first block leaves sooner (a small file is mostly first read). */
const FIRST_READ_BYTES = 256 * 1024
/** A full link buffer is tried again after this long. */
const RETRY_MS = 5
/**
 * Blocks for requesters through the relay go only while less than this waits to leave for the
 * node: the socket's buffer is the relay path's only back-pressure (requesters that ignore their
 * window would otherwise fill this client's memory).
 */
const RELAY_PENDING_BYTES = 512 * 1024

interface Job {
  mediaId: string
  reqId: number
  part: MediaPart
  next: number
  end: number
  /** The next blocks read ahead, as whole DATA frames (one buffer), from `frameIdx` on; `block` is their size. */
  frames: Uint8Array[] | null
  frameLens: number[]
  frameIdx: number
  block: number
}

interface PeerQueue {
  jobs: Job[]
  queuedBytes: number
  running: boolean
  retry: TimerHandle | null
}

/**
 * Serves the files this client holds to those who ask: requests are answered in order per
 * requester, in blocks, as fast as the link (or the relay) takes them. The requester's own
 * window bounds what is asked at once; this side only bounds what it will queue.
 */
export class MediaServer {
  private readonly peers = new Map<string, PeerQueue>()

  constructor(
    private readonly t: MediaTransport,
    private readonly find: (mediaId: string) => HeldMedia | undefined,
    private readonly clock: Clock,
  ) {}

  onQuery(from: string, f: MediaQueryFrame): void {
    const h = this.find(f.mediaId)
    if (!h) return this.send(from, { type: MediaFrameType.ERROR, mediaId: f.mediaId, reqId: f.reqId, code: MediaErrorCode.NOT_FOUND })
    h.lastUsed = this.clock.now()
    // A receiver that has just begun (no manifest yet) has nothing to serve: an empty HAVE, ask again later.
    const complete = h.complete && h.manifest !== null
    const pieces = complete ? new Uint8Array(0) : h.manifest ? h.have.bits.slice() : new Uint8Array(h.have.bits.length)
    this.send(from, { type: MediaFrameType.HAVE, mediaId: f.mediaId, reqId: f.reqId, complete, pieces })
  }

  onRequest(from: string, f: MediaRequestFrame): void {
    const h = this.find(f.mediaId)
    const error = (code: MediaErrorCode) => this.send(from, { type: MediaFrameType.ERROR, mediaId: f.mediaId, reqId: f.reqId, code })
    if (!h || !h.manifest) return error(MediaErrorCode.NOT_FOUND)
    const partSize = f.part === MediaPart.MANIFEST ? h.manifest.length : h.info.size
    if (f.offset + f.length > partSize) return error(MediaErrorCode.BAD_REQUEST)
    if (f.part === MediaPart.DATA && !h.holds(f.offset, f.length)) return error(MediaErrorCode.NOT_FOUND)
    let q = this.peers.get(from)
    if (!q) {
      if (this.peers.size >= MAX_PEERS_SERVED) return error(MediaErrorCode.BUSY)
      q = { jobs: [], queuedBytes: 0, running: false, retry: null }
      this.peers.set(from, q)
    }
    if (q.queuedBytes + f.length > MAX_QUEUED_PER_PEER) return error(MediaErrorCode.BUSY)
    h.lastUsed = this.clock.now()
    q.jobs.push({ mediaId: f.mediaId, reqId: f.reqId, part: f.part, next: f.offset, end: f.offset + f.length, frames: null, frameLens: [], frameIdx: 0, block: 0 })
    q.queuedBytes += f.length
    this.run(from, q)
  }

  onCancel(from: string, f: MediaCancelFrame): void {
    const q = this.peers.get(from)
    if (!q) return
    for (const j of q.jobs) {
      if (j.mediaId === f.mediaId && (f.reqId === 0 || j.reqId === f.reqId)) this.finish(q, j)
    }
    q.jobs = q.jobs.filter((j) => j.next < j.end)
    this.idle(from, q)
  }

  /** Stops serving a file (the app released it): its requesters hear NOT_FOUND. */
  forget(mediaId: string): void {
    for (const [uid, q] of this.peers) {
      for (const j of q.jobs) {
        if (j.mediaId !== mediaId) continue
        this.finish(q, j)
        this.send(uid, { type: MediaFrameType.ERROR, mediaId, reqId: j.reqId, code: MediaErrorCode.NOT_FOUND })
      }
      q.jobs = q.jobs.filter((j) => j.next < j.end)
      this.idle(uid, q)
    }
  }

  /** Something is being served from this file (it must not be evicted). */
  busy(mediaId: string): boolean {
    for (const q of this.peers.values()) if (q.jobs.some((j) => j.mediaId === mediaId)) return true
    return false
  }

  close(): void {
    for (const q of this.peers.values()) this.clock.clearTimeout(q.retry)
    this.peers.clear()
  }

  private finish(q: PeerQueue, j: Job): void {
    q.queuedBytes -= j.end - j.next
    j.next = j.end
    j.frames = null
  }

  private idle(uid: string, q: PeerQueue): void {
    if (q.jobs.length === 0 && !q.running) {
      this.clock.clearTimeout(q.retry)
      this.peers.delete(uid)
    }
  }

  private send(uid: string, f: Parameters<typeof encodeMediaFrame>[0]): void {
    const bytes = encodeMediaFrame(f)
    if (!(this.t.linkOpen(uid) && this.t.linkSend(uid, bytes))) this.t.relaySend(uid, bytes)
  }

  /** Sends what the link takes; reads ahead as needed; comes back when the link has room. */
  private run(uid: string, q: PeerQueue): void {
    if (q.running) return
    q.running = true
    void this.pump(uid, q).finally(() => {
      q.running = false
      this.idle(uid, q)
    })
  }

  /**
   * The next blocks of `j`, READ_BYTES of them (FIRST_READ_BYTES the first time), laid out as whole
   * DATA frames in one buffer, the bytes read straight into their places: no buffer per block (each
   * one is memory the garbage collector must be told of, and a copy). Null when they cannot be read.
   */
  private async layOut(j: Job, h: HeldMedia, block: number): Promise<{ frames: Uint8Array[]; lens: number[] } | null> {
    const at = j.next
    const len = Math.min(j.frames ? READ_BYTES : FIRST_READ_BYTES, j.end - at)
    const heads: Uint8Array[] = []
    const lens: number[] = []
    let total = 0
    for (let o = at; o < at + len; o += block) {
      const n = Math.min(block, at + len - o)
      const head = encodeMediaDataHeader(j.mediaId, j.reqId, j.part, o, n)
      heads.push(head)
      lens.push(n)
      total += head.length + n
    }
    const buf = new Uint8Array(total)
    const frames: Uint8Array[] = []
    const payloads: Uint8Array[] = []
    for (let i = 0, p = 0; i < heads.length; i++) {
      buf.set(heads[i]!, p)
      const end = p + heads[i]!.length + lens[i]!
      frames.push(buf.subarray(p, end))
      payloads.push(buf.subarray(p + heads[i]!.length, end))
      p = end
    }
    try {
      if (j.part === MediaPart.DATA && h.store.readInto) await h.store.readInto(payloads, at)
      else {
        const src = j.part === MediaPart.MANIFEST ? h.manifest!.subarray(at, at + len) : await h.store.read(at, len)
        if (src.length !== len) return null
        for (let i = 0, o = 0; i < payloads.length; o += lens[i]!, i++) payloads[i]!.set(src.subarray(o, o + lens[i]!))
      }
    } catch {
      return null
    }
    return { frames, lens }
  }

  private async pump(uid: string, q: PeerQueue): Promise<void> {
    while (q.jobs.length > 0) {
      const j = q.jobs[0]
      const h = this.find(j.mediaId)
      if (!h || !h.manifest || j.next >= j.end) {
        if (j.next < j.end) {
          this.finish(q, j)
          this.send(uid, { type: MediaFrameType.ERROR, mediaId: j.mediaId, reqId: j.reqId, code: MediaErrorCode.NOT_FOUND })
        }
        q.jobs.shift()
        continue
      }
      const direct = this.t.linkOpen(uid)
      if (!direct && this.t.relayPending() > RELAY_PENDING_BYTES) {
        await new Promise<void>((resolve) => (q.retry = this.clock.setTimeout(resolve, RETRY_MS * 4)))
        continue
      }
      const block = direct ? MAX_MEDIA_BLOCK_BYTES : RELAY_MEDIA_BLOCK_BYTES
      if (!j.frames || j.frameIdx >= j.frames.length || j.block !== block) {
        // Read ahead (again from `next` when the path changed: the relay takes smaller blocks).
        const at = j.next
        const laid = await this.layOut(j, h, block)
        if (q.jobs[0] !== j || j.next !== at) continue // cancelled while reading
        if (!laid) {
          this.finish(q, j)
          this.send(uid, { type: MediaFrameType.ERROR, mediaId: j.mediaId, reqId: j.reqId, code: MediaErrorCode.NOT_FOUND })
          continue
        }
        j.frames = laid.frames
        j.frameLens = laid.lens
        j.frameIdx = 0
        j.block = block
        continue // the link may have changed meanwhile
      }
      const sent = direct ? this.t.linkSend(uid, j.frames[j.frameIdx]!) : this.t.relaySend(uid, j.frames[j.frameIdx]!)
      if (!sent) {
        if (!direct) {
          // Not connected to the node: the requester times out and asks again.
          this.finish(q, j)
          q.jobs.shift()
          continue
        }
        // The link's buffer is full: come back in a moment.
        await new Promise<void>((resolve) => (q.retry = this.clock.setTimeout(resolve, RETRY_MS)))
        continue
      }
      const n = j.frameLens[j.frameIdx]!
      j.frameIdx++
      j.next += n
      q.queuedBytes -= n
    }
  }
}
