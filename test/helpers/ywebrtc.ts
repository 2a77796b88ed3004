/** y-webrtc providers in child processes (ywebrtc-peer.mjs), and a raw y-webrtc signaling socket. */
import { fork, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import WebSocket from 'ws'

type PeerEvent = { event: 'map'; map: Record<string, unknown> } | { event: 'peers'; webrtcPeers: string[] } | { event: 'ready' }

export class YPeer {
  private nextId = 1
  private readonly pending = new Map<number, (m: { ok: boolean; error?: string }) => void>()
  private readonly listeners = new Set<() => void>()
  map: Record<string, unknown> = {}
  peers: string[] = []
  readonly exited: Promise<void>

  private constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: PeerEvent & { id?: number; ok?: boolean; error?: string }) => {
      if (m.id !== undefined) {
        this.pending.get(m.id)?.({ ok: m.ok ?? false, error: m.error })
        this.pending.delete(m.id)
        return
      }
      if (m.event === 'map') this.map = m.map
      if (m.event === 'peers') this.peers = m.webrtcPeers
      for (const fn of this.listeners) fn()
    })
    this.exited = new Promise((r) => proc.once('exit', () => r()))
  }

  /** A provider for `room` with signaling at `url` (e.g. ws://127.0.0.1:PORT/y-webrtc). */
  static async start(url: string, room: string, password?: string): Promise<YPeer> {
    const proc = fork(resolve(__dirname, 'ywebrtc-peer.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const peer = new YPeer(proc)
    await new Promise<void>((r) => proc.once('message', () => r()))
    await peer.call({ cmd: 'start', url, room, password })
    return peer
  }

  private call(m: Record<string, unknown>): Promise<void> {
    const id = this.nextId++
    return new Promise((res, rej) => {
      this.pending.set(id, (r) => (r.ok ? res() : rej(new Error(r.error))))
      this.proc.send({ id, ...m })
    })
  }

  set(key: string, value: unknown): Promise<void> {
    return this.call({ cmd: 'set', key, value })
  }

  /** Resolves when `check` holds; rejects after `timeoutMs`. */
  until(check: (p: YPeer) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check(this)) return Promise.resolve()
    return new Promise((res, rej) => {
      const done = () => {
        if (!check(this)) return
        clearTimeout(timer)
        this.listeners.delete(done)
        res()
      }
      const timer = setTimeout(() => {
        this.listeners.delete(done)
        rej(new Error(`timed out waiting for ${what}; map ${JSON.stringify(this.map)}, peers ${this.peers.length}`))
      }, timeoutMs)
      this.listeners.add(done)
    })
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
    await this.exited
  }
}

/** A raw socket on a y-webrtc signaling endpoint: JSON frames in and out. */
export class RawY {
  readonly frames: Record<string, unknown>[] = []
  private readonly listeners = new Set<() => void>()
  closeCode = 0

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(String(d)) as Record<string, unknown>)
      for (const fn of this.listeners) fn()
    })
    ws.on('close', (code) => {
      this.closeCode = code
      for (const fn of this.listeners) fn()
    })
  }

  static open(url: string): Promise<RawY> {
    return new Promise((res, rej) => {
      const ws = new WebSocket(url)
      ws.once('open', () => res(new RawY(ws)))
      ws.once('error', rej)
      ws.once('unexpected-response', (_req, r) => rej(new Error(`HTTP ${r.statusCode}`)))
    })
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** The first frame (from the first not yet taken) that matches, waiting up to `timeoutMs`. */
  next(match: (f: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    return new Promise((res, rej) => {
      const look = () => {
        const i = this.frames.findIndex(match)
        if (i < 0) return false
        clearTimeout(timer)
        this.listeners.delete(check)
        res(this.frames.splice(0, i + 1)[i])
        return true
      }
      const check = () => void look()
      const timer = setTimeout(() => {
        this.listeners.delete(check)
        rej(new Error(`no matching frame in ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`))
      }, timeoutMs)
      if (!look()) this.listeners.add(check)
    })
  }

  closed(timeoutMs = 5000): Promise<number> {
    if (this.closeCode) return Promise.resolve(this.closeCode)
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error('not closed')), timeoutMs)
      this.listeners.add(() => {
        if (this.closeCode) {
          clearTimeout(timer)
          res(this.closeCode)
        }
      })
    })
  }

  close(): void {
    this.ws.terminate()
  }
}
