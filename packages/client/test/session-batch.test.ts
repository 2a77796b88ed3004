/**
 * The client's per-turn BATCH: what `send` accepted goes on the socket it was accepted for, or
 * dies with that socket — never onto a later one, never dropped while its socket lives.
 */
import { describe, expect, it } from 'vitest'
import { FrameType, decodeClientFrame, encodeFrame, type Clock, type ClientFrame } from '@plaza/protocol'
import { SignalingSession, type WebSocketLike } from '../src/signaling/session.js'
import type { Runtime } from '../src/runtime.js'

/** A clock whose timers run only when told; a turn that ends only when told. */
function manualRuntime() {
  let now = 1_000_000
  const timers = new Map<number, { at: number; fn: () => void }>()
  let next = 1
  const endOfTurn: (() => void)[] = []
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => (timers.set(next, { at: now + ms, fn }), next++),
    clearTimeout: (h) => void timers.delete(h as number),
    setInterval: (fn, ms) => (timers.set(next, { at: now + ms, fn }), next++),
    clearInterval: (h) => void timers.delete(h as number),
  }
  const rt: Runtime = { clock, random: () => 0.5, randomId: () => 'id', defer: (fn) => void endOfTurn.push(fn) }
  return {
    rt,
    advance(ms: number) {
      now += ms
      for (const [h, t] of [...timers]) if (t.at <= now && timers.delete(h)) t.fn()
    },
    endTurn() {
      for (const fn of endOfTurn.splice(0)) fn()
    },
  }
}

class FakeSocket implements WebSocketLike {
  static made: FakeSocket[] = []
  binaryType = ''
  readyState = 0
  onopen: ((ev: unknown) => void) | null = null
  onclose: ((ev: { code: number; reason: string }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  /** Frames as the node would read them (a BATCH unpacked). */
  readonly got: ClientFrame[] = []
  constructor(readonly url: string) {
    FakeSocket.made.push(this)
  }
  send(data: Uint8Array): void {
    const f = decodeClientFrame(data)
    if (f.type === FrameType.BATCH) for (const inner of f.frames) this.got.push(decodeClientFrame(inner))
    else this.got.push(f)
  }
  close(): void {
    this.readyState = 3
  }
  /** The node accepts the login. */
  accept(): void {
    this.readyState = 1
    this.onopen?.({})
    const ok = encodeFrame({ type: FrameType.LOGIN_OK, sessionId: 's1', resumed: this !== FakeSocket.made[0], serverTs: 0, pingIntervalMs: 2000, tokenExpiresAt: 0, resync: false })
    this.onmessage?.({ data: ok })
  }
  drop(): void {
    this.readyState = 3
    this.onclose?.({ code: 1006, reason: '' })
  }
}

const ping = (ts: number): ClientFrame => ({ type: FrameType.PING, ts })
const pings = (ws: FakeSocket) => ws.got.flatMap((f) => (f.type === FrameType.PING && f.ts < 100 ? [f.ts] : []))

describe('SignalingSession: frames of a turn', () => {
  it('sends the first at once and the rest as one BATCH at the end of the turn, in order', async () => {
    FakeSocket.made = []
    const m = manualRuntime()
    const s = new SignalingSession({ urls: ['ws://x'], appId: 'app', WebSocket: FakeSocket, loginTimeoutMs: 10_000, requestTimeoutMs: 10_000, reconnectMinMs: 100, reconnectMaxMs: 100 }, m.rt)
    const login = s.login('u', 't')
    FakeSocket.made[0].accept()
    await login
    const ws = FakeSocket.made[0]
    const sent: Uint8Array[] = []
    const raw = ws.send.bind(ws)
    ws.send = (d) => (sent.push(d), raw(d))
    for (const ts of [1, 2, 3]) expect(s.send(ping(ts))).toBe(true)
    expect(pings(ws)).toEqual([1])
    m.endTurn()
    expect(pings(ws)).toEqual([1, 2, 3])
    expect(sent).toHaveLength(2) // the first alone, then 2 and 3 in one BATCH
    expect(decodeClientFrame(sent[1]).type).toBe(FrameType.BATCH)
  })

  it('puts nothing accepted for a new socket into the batch of the one it replaced', async () => {
    FakeSocket.made = []
    const m = manualRuntime()
    const s = new SignalingSession({ urls: ['ws://x'], appId: 'app', WebSocket: FakeSocket, loginTimeoutMs: 10_000, requestTimeoutMs: 10_000, reconnectMinMs: 100, reconnectMaxMs: 100 }, m.rt)
    const login = s.login('u', 't')
    FakeSocket.made[0].accept()
    await login
    const [first] = FakeSocket.made
    s.send(ping(1))
    s.send(ping(2)) // waits for the end of the turn, on the first socket
    first.drop() // the socket dies within the same turn...
    m.advance(200) // ...the client reconnects and resumes before the turn ends (a simulation can)
    const second = FakeSocket.made[1]
    second.accept()
    expect(s.send(ping(3))).toBe(true)
    m.endTurn()
    expect(pings(first)).toEqual([1]) // 2 died with it, as it would have had it left at once
    expect(pings(second)).toEqual([3]) // before: 3 joined the dead socket's batch and was lost
  })
})
