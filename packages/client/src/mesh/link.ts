import SimplePeer from 'simple-peer'

/** One WebRTC peer connection with one ordered, reliable data channel: what the mesh needs of it. */
export interface PeerLink {
  /** A signal from the other side (offer, answer or candidate). */
  signal(data: object): void
  send(bytes: Uint8Array): void
  destroy(): void
  /** Bytes queued in the data channel. */
  readonly bufferSize: number
  on(event: 'signal', fn: (data: object) => void): unknown
  on(event: 'connect' | 'close', fn: () => void): unknown
  on(event: 'data', fn: (bytes: Uint8Array) => void): unknown
  on(event: 'iceStateChange', fn: (state: string) => void): unknown
  on(event: 'error', fn: (err: Error) => void): unknown
}

export interface LinkOptions {
  initiator: boolean
  /** WebRTC implementation for Node (`@roamhq/wrtc`); the browser's own when absent. */
  wrtc?: object
  rtcConfig?: RTCConfiguration
}

/** Makes the link to one remote user; the default is `createNativeLink` (mesh/native-link.ts). */
export type CreateLink = (opts: LinkOptions) => PeerLink

export const createSimplePeerLink: CreateLink = (opts) =>
  new SimplePeer({
    initiator: opts.initiator,
    trickle: true,
    wrtc: opts.wrtc as SimplePeer.Options['wrtc'],
    config: opts.rtcConfig,
    channelConfig: { ordered: true },
  }) as unknown as PeerLink
