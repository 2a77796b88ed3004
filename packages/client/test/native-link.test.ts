import { createRequire } from 'node:module'
import { afterEach, describe, expect, it } from 'vitest'
import { NativeLink, isTcpCandidate } from '../src/mesh/native-link.js'

const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as {
  RTCPeerConnection: new (config?: object) => RawPc
}
interface RawChannel {
  binaryType: string
  readyState: string
  onopen: (() => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  send(d: string | Uint8Array): void
}
interface RawPc {
  onicecandidate: ((ev: { candidate: { candidate: string; sdpMLineIndex: number | null; sdpMid: string | null } | null }) => void) | null
  ondatachannel: ((ev: { channel: RawChannel }) => void) | null
  setRemoteDescription(d: object): Promise<void>
  setLocalDescription(d?: object): Promise<void>
  createAnswer(): Promise<{ type: string; sdp: string }>
  addIceCandidate(c: object): Promise<void>
  localDescription: { type: string; sdp: string } | null
  iceGatheringState: string
  createDataChannel(label: string): RawChannel
  createOffer(): Promise<{ type: string; sdp: string }>
  close(): void
}

const open: { destroy(): void }[] = []
afterEach(() => {
  for (const l of open.splice(0)) l.destroy()
})

function link(initiator: boolean): NativeLink {
  const l = new NativeLink({ initiator, wrtc, rtcConfig: { iceServers: [] } })
  open.push(l)
  return l
}

const connected = (l: NativeLink) => new Promise<void>((r) => l.on('connect', () => r()))
const nextData = (l: NativeLink) => new Promise<Uint8Array>((r) => l.on('data', (b) => r(b)))

describe('NativeLink', () => {
  it('connects when candidates come before the offer (they wait for the remote description)', async () => {
    const a = link(true)
    const b = link(false)
    const fromA: object[] = []
    a.on('signal', (s) => fromA.push(s))
    b.on('signal', (s) => a.signal(s))
    // Hold a's signals until its offer and at least one candidate are out, then feed the candidates first.
    const deadline = Date.now() + 5000
    while (!(fromA.some((s) => (s as { type: string }).type === 'offer') && fromA.some((s) => (s as { type: string }).type === 'candidate'))) {
      if (Date.now() > deadline) throw new Error('no offer and candidate from the initiator')
      await new Promise((r) => setTimeout(r, 10))
    }
    const offer = fromA.find((s) => (s as { type: string }).type === 'offer')!
    for (const s of fromA) if (s !== offer) b.signal(s)
    b.signal(offer)
    a.on('signal', (s) => b.signal(s))
    await Promise.all([connected(a), connected(b)])
    const got = nextData(b)
    a.send(new Uint8Array([1, 2, 3]))
    expect([...(await got)]).toEqual([1, 2, 3])
    const back = nextData(a)
    b.send(new Uint8Array([4, 5]))
    expect([...(await back)]).toEqual([4, 5])
  })

  it('takes a string message as its UTF-8 bytes', async () => {
    const a = link(true)
    const remote = new wrtc.RTCPeerConnection()
    open.push({ destroy: () => remote.close() })
    let channel: RawChannel | null = null
    const remoteOpen = new Promise<void>((r) => {
      remote.ondatachannel = (ev) => {
        channel = ev.channel
        if (channel.readyState === 'open') r()
        else channel.onopen = () => r()
      }
    })
    remote.onicecandidate = (ev) => ev.candidate && a.signal({ type: 'candidate', candidate: ev.candidate })
    a.on('signal', (s) => {
      const sig = s as { type: string; sdp?: string; candidate?: object }
      if (sig.type === 'offer') {
        void (async () => {
          await remote.setRemoteDescription(sig)
          await remote.setLocalDescription(await remote.createAnswer())
          a.signal({ type: 'answer', sdp: remote.localDescription!.sdp })
        })()
      } else if (sig.candidate) void remote.addIceCandidate(sig.candidate).catch(() => undefined)
    })
    await Promise.all([connected(a), remoteOpen])
    const got = nextData(a)
    channel!.send('héllo')
    expect(await got).toEqual(new TextEncoder().encode('héllo'))
  })

  it('destroys once: one close, and sending afterwards throws', async () => {
    const a = link(true)
    const events: string[] = []
    a.on('close', () => events.push('close'))
    a.on('error', () => events.push('error'))
    a.destroy()
    a.destroy()
    expect(() => a.send(new Uint8Array([1]))).toThrow()
    await new Promise((r) => setTimeout(r, 10))
    expect(events).toEqual(['close'])
    a.signal({ type: 'answer', sdp: 'v=0' }) // ignored after destroy
  })

  it('reports a connection it cannot make as an error and a close, not a throw', async () => {
    const broken = {
      RTCPeerConnection: class {
        constructor() {
          throw new Error('no peer connections here')
        }
      },
    }
    const l = new NativeLink({ initiator: true, wrtc: broken })
    const events: string[] = []
    l.on('error', (e: Error) => events.push(`error: ${e.message}`))
    l.on('close', () => events.push('close'))
    await new Promise((r) => setTimeout(r, 10))
    expect(events).toEqual(['error: no peer connections here', 'close'])
  })
  it('signals no TCP candidates (libwebrtc keeps a TCP connection per pair of them)', async () => {
    // This machine's WebRTC gathers TCP candidates: a raw connection offers some.
    const raw = new wrtc.RTCPeerConnection({ iceServers: [] })
    open.push({ destroy: () => raw.close() })
    const rawCandidates: string[] = []
    const rawDone = new Promise<void>((r) => {
      raw.onicecandidate = (ev) => (ev.candidate?.candidate ? rawCandidates.push(ev.candidate.candidate) : r())
    })
    raw.createDataChannel('x')
    await raw.setLocalDescription(await raw.createOffer())
    await rawDone
    expect(rawCandidates.filter(isTcpCandidate).length).toBeGreaterThan(0)
    expect(rawCandidates.filter((c) => !isTcpCandidate(c)).length).toBeGreaterThan(0)

    const a = link(true)
    const signalled: string[] = []
    a.on('signal', (s) => {
      const c = (s as { candidate?: { candidate: string } }).candidate
      if (c) signalled.push(c.candidate)
    })
    const pc = (a as unknown as { pc: RawPc }).pc
    const deadline = Date.now() + 10_000
    while (pc.iceGatheringState !== 'complete') {
      if (Date.now() > deadline) throw new Error('gathering did not complete')
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(signalled.length).toBeGreaterThan(0)
    expect(signalled.filter(isTcpCandidate)).toEqual([])
  })
})
