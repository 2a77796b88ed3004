import type { CreateLink, LinkOptions, PeerLink } from './link.js'

/**
 * A `PeerLink` straight on RTCPeerConnection and one ordered, reliable RTCDataChannel: no stream
 * machinery between the channel and the mesh (simple-peer is a Node Duplex stream, which costs a
 * Buffer, a stream push and several emits per message).
 *
 * It speaks simple-peer's signaling, so a client on either one links with a client on the other:
 * `{type: 'offer' | 'answer', sdp}` and `{type: 'candidate', candidate: {candidate, sdpMLineIndex,
 * sdpMid}}`, trickled; the initiator makes the (in-band negotiated) channel and the other side takes
 * it from `ondatachannel`. simple-peer's own `renegotiate` and `transceiverRequest` signals are for
 * media, which a link never carries; they are ignored.
 */

type Handler = (...args: never[]) => void

interface Wrtc {
  RTCPeerConnection: new (config?: RTCConfiguration) => RTCPeerConnection
  RTCSessionDescription?: new (init: RTCSessionDescriptionInit) => RTCSessionDescriptionInit
  RTCIceCandidate?: new (init: RTCIceCandidateInit) => RTCIceCandidateInit
}

interface SignalData {
  type?: unknown
  sdp?: unknown
  candidate?: unknown
}

/** simple-peer's defaults, so that a link is configured the same whichever implementation makes it. */
const DEFAULT_CONFIG: RTCConfiguration = {
  iceServers: [{ urls: ['stun:stun.l.google.com:19302', 'stun:global.stun.twilio.com:3478'] }],
}

let textEncoder: TextEncoder | null = null

export class NativeLink implements PeerLink {
  private pc: RTCPeerConnection | null
  private channel: RTCDataChannel | null = null
  private readonly wrtc: Wrtc
  /** Candidates that came before the remote description was set; null once it is. */
  private pendingCandidates: RTCIceCandidateInit[] | null = []
  private destroyed = false
  private connected = false
  private readonly handlers: Record<string, Handler[]> = {}
  /** 'data' handlers apart, called with no rest arguments: the one event on the per-message path. */
  private dataHandlers: ((bytes: Uint8Array) => void)[] = []

  constructor(opts: LinkOptions) {
    const w = (opts.wrtc ?? globalThis) as Partial<Wrtc>
    if (typeof w.RTCPeerConnection !== 'function') throw new Error('No WebRTC support: pass opts.wrtc in this environment')
    this.wrtc = w as Wrtc
    let pc: RTCPeerConnection
    try {
      pc = new this.wrtc.RTCPeerConnection({ ...DEFAULT_CONFIG, ...opts.rtcConfig })
    } catch (err) {
      // Like simple-peer: a link that cannot be made reports it as an error event, not a throw.
      this.pc = null
      this.destroy(asError(err))
      return
    }
    this.pc = pc
    pc.onicecandidate = (ev) => {
      const c = ev.candidate
      // End of candidates (null, or an empty candidate) is not signalled: simple-peer never sends it either.
      if (this.destroyed || !c || !c.candidate || isTcpCandidate(c.candidate)) return
      this.emit('signal', { type: 'candidate', candidate: { candidate: c.candidate, sdpMLineIndex: c.sdpMLineIndex, sdpMid: c.sdpMid } })
    }
    pc.oniceconnectionstatechange = () => this.onIceStateChange()
    pc.onicegatheringstatechange = () => this.onIceStateChange()
    pc.onconnectionstatechange = () => {
      if (!this.destroyed && this.pc?.connectionState === 'failed') this.destroy(new Error('Connection failed.'))
    }
    if (opts.initiator) {
      let ch: RTCDataChannel
      try {
        ch = pc.createDataChannel(randomLabel(), { ordered: true })
      } catch (err) {
        this.destroy(asError(err))
        return
      }
      this.setupChannel(ch)
      void this.offer()
    } else {
      pc.ondatachannel = (ev) => {
        if (this.destroyed || this.channel) return
        this.setupChannel(ev.channel)
      }
    }
  }

  get bufferSize(): number {
    return this.channel?.bufferedAmount ?? 0
  }

  on(event: string, fn: Handler): this {
    if (event === 'data') this.dataHandlers.push(fn as (bytes: Uint8Array) => void)
    else (this.handlers[event] ??= []).push(fn)
    return this
  }

  signal(data: object): void {
    if (this.destroyed) return
    let msg = data as SignalData
    if (typeof msg === 'string') {
      try {
        msg = JSON.parse(msg) as SignalData
      } catch {
        return
      }
    }
    if (msg.candidate && typeof msg.candidate === 'object') {
      const c = msg.candidate as RTCIceCandidateInit
      if (typeof c.candidate === 'string' && isTcpCandidate(c.candidate)) return
      if (this.pendingCandidates) this.pendingCandidates.push(c)
      else this.addCandidate(c)
    }
    if ((msg.type === 'offer' || msg.type === 'answer') && typeof msg.sdp === 'string') {
      void this.remoteDescription({ type: msg.type, sdp: msg.sdp })
    }
  }

  send(bytes: Uint8Array): void {
    const ch = this.channel
    if (this.destroyed || !ch || !this.connected) throw new Error('cannot send: the link is not open')
    ch.send(bytes as Uint8Array<ArrayBuffer>)
  }

  destroy(err?: Error): void {
    if (this.destroyed) return
    this.destroyed = true
    this.connected = false
    const ch = this.channel
    const pc = this.pc
    this.channel = null
    this.pc = null
    this.pendingCandidates = null
    if (ch) {
      ch.onmessage = null
      ch.onopen = null
      ch.onclose = null
      ch.onerror = null
      try {
        ch.close()
      } catch {
        /* already closed */
      }
    }
    if (pc) {
      pc.onicecandidate = null
      pc.oniceconnectionstatechange = null
      pc.onicegatheringstatechange = null
      pc.onconnectionstatechange = null
      pc.ondatachannel = null
      try {
        pc.close()
      } catch {
        /* already closed */
      }
    }
    // Like simple-peer: the events come after the caller's turn, never from inside destroy().
    queueMicrotask(() => {
      if (err) this.emit('error', err)
      this.emit('close')
    })
  }

  private emit(event: string, ...args: unknown[]): void {
    const list = this.handlers[event]
    if (!list) return
    for (const fn of list) (fn as (...a: unknown[]) => void)(...args)
  }

  private setupChannel(ch: RTCDataChannel): void {
    this.channel = ch
    ch.binaryType = 'arraybuffer'
    ch.onmessage = (ev: MessageEvent) => {
      if (this.destroyed) return
      const d: unknown = ev.data
      const bytes =
        d instanceof ArrayBuffer ? new Uint8Array(d)
        : typeof d === 'string' ? (textEncoder ??= new TextEncoder()).encode(d)
        : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
        : null
      if (!bytes) return
      const hs = this.dataHandlers
      if (hs.length === 1) hs[0]!(bytes)
      else for (const fn of hs) fn(bytes)
    }
    ch.onopen = () => this.onOpen()
    ch.onclose = () => this.destroy()
    ch.onerror = (ev: Event) => {
      const e = (ev as Event & { error?: unknown }).error
      this.destroy(e instanceof Error ? e : new Error('data channel error'))
    }
    // The channel may already be open when handed over by ondatachannel.
    if (ch.readyState === 'open') queueMicrotask(() => this.onOpen())
  }

  private onOpen(): void {
    if (this.destroyed || this.connected) return
    this.connected = true
    this.emit('connect')
  }

  private onIceStateChange(): void {
    const pc = this.pc
    if (this.destroyed || !pc) return
    const state = pc.iceConnectionState
    this.emit('iceStateChange', state, pc.iceGatheringState)
    if (state === 'failed') this.destroy(new Error('Ice connection failed.'))
    else if (state === 'closed') this.destroy(new Error('Ice connection closed.'))
  }

  private async offer(): Promise<void> {
    try {
      const pc = this.pc!
      const offer = await pc.createOffer()
      if (this.destroyed) return
      await pc.setLocalDescription(offer)
      if (this.destroyed) return
      this.signalLocalDescription(offer)
    } catch (err) {
      this.destroy(asError(err))
    }
  }

  private async remoteDescription(desc: RTCSessionDescriptionInit): Promise<void> {
    try {
      const pc = this.pc!
      const Desc = this.wrtc.RTCSessionDescription
      await pc.setRemoteDescription(Desc ? new Desc(desc) : desc)
      if (this.destroyed) return
      const pending = this.pendingCandidates
      this.pendingCandidates = null
      if (pending) for (const c of pending) this.addCandidate(c)
      if (desc.type !== 'offer') return
      const answer = await pc.createAnswer()
      if (this.destroyed) return
      await pc.setLocalDescription(answer)
      if (this.destroyed) return
      this.signalLocalDescription(answer)
    } catch (err) {
      if (!this.destroyed) this.destroy(asError(err))
    }
  }

  /**
   * The description as made, not read back from `pc.localDescription`: @roamhq/wrtc serialises that
   * on this thread while its own thread adds gathered candidates to it, and was seen to crash there
   * under link churn. Candidates trickle apart anyway.
   */
  private signalLocalDescription(d: RTCSessionDescriptionInit): void {
    this.emit('signal', { type: d.type, sdp: d.sdp })
  }

  private addCandidate(c: RTCIceCandidateInit): void {
    const pc = this.pc
    if (!pc) return
    let cand: RTCIceCandidateInit
    try {
      const Cand = this.wrtc.RTCIceCandidate
      cand = Cand ? new Cand(c) : c
    } catch {
      return // malformed: ignore it, as a browser ignores a candidate it cannot use
    }
    // A candidate that cannot be added (an mDNS name, an unsupported kind) is not fatal: if no
    // candidate works, ICE fails and the link is dropped.
    pc.addIceCandidate(cand).catch(() => undefined)
  }
}

/**
 * An ICE candidate over TCP ("candidate:<foundation> <component> tcp ..."). Links use UDP only:
 * libwebrtc opens a TCP connection for every pair of TCP candidates and keeps them, which cost a
 * member of a 32-member room thousands of file descriptors; where UDP cannot pass, the relay does.
 */
export function isTcpCandidate(candidate: string): boolean {
  const fields = candidate.split(' ', 3)
  return fields[2]?.toLowerCase() === 'tcp'
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

function randomLabel(): string {
  let s = ''
  for (let i = 0; i < 4; i++) s += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0')
  return s
}

export const createNativeLink: CreateLink = (opts) => new NativeLink(opts)
