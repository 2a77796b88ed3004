import { FrameType, PeerFrameType, SyncKind, encodePeerFrame, type Grants } from '@plaza/protocol'
import type { AttributesApi } from '../attributes-api.js'
import type { PeerDelivery } from '../delivery/peer-delivery.js'
import type { Mesh } from '../mesh/mesh.js'
import type { Runtime } from '../runtime.js'
import type { SignalingSession } from '../signaling/session.js'
import type { DebouncedWriter, PlazaStorage } from '../storage/storage.js'
import type { MediaManager } from '../media/media.js'
import { toReceived } from '../messages.js'
import { generateOverlayKey, webCryptoEd25519Available } from '../overlay/index.js'
import type { ChannelHost, ChannelOverlayHost, PlazaChannel } from './channel.js'
import type { OverlayKeyPair } from './channel-overlay.js'

interface ClientParts {
  appId: string
  rt: Runtime
  requestTimeoutMs: number
  /** Getters: the client makes these after the host. */
  session(): SignalingSession
  delivery(): PeerDelivery
  mesh(): Mesh
  attrs: AttributesApi
  channels: Map<string, PlazaChannel>
  storage: PlazaStorage
  writer: DebouncedWriter
  grants(): Grants
  /** Throws TOO_OFTEN past the client's message rate. */
  takeMessageToken(): void
  media(): MediaManager
  /** Direct links are on (the overlay needs them). */
  directLinks: boolean
  /** Members above which a channel uses its overlay. */
  overlayThreshold: number
}

/** A channel overlay's side of the client: one key pair for all channels, links through the mesh. */
function overlayHost(c: ClientParts): ChannelOverlayHost {
  /** Undefined until made (or found impossible). */
  let keys: OverlayKeyPair | null | undefined
  let making: Promise<OverlayKeyPair | null> | null = null
  const make = (): OverlayKeyPair | null | Promise<OverlayKeyPair | null> => {
    if (c.rt.overlayKeys) return c.rt.overlayKeys()
    // Ed25519 may be missing from an older browser's WebCrypto: then this client stays out of overlays.
    return webCryptoEd25519Available() ? generateOverlayKey().catch(() => null) : null
  }
  return {
    get app() {
      return c.appId
    },
    get uid() {
      return c.session().uid
    },
    threshold: c.overlayThreshold,
    prepareKeys() {
      if (keys !== undefined) return keys
      if (!c.directLinks || c.overlayThreshold === Infinity) return (keys = null)
      if (making) return making
      const made = make()
      if (!(made instanceof Promise)) return (keys = made)
      making = made.then((k) => (keys = k))
      return making
    },
    keys: () => keys ?? null,
    nodeNow: () => c.rt.clock.now() + c.session().clockOffset,
    nodeKey: () => c.session().nodeKey?.publicKey ?? null,
    takeMessageToken: () => c.takeMessageToken(),
    toReceived: (origin, channel, m) => toReceived(origin, { channel, ...m }, c.media()),
    linkSend: (uid, bytes) => c.mesh().send(uid, bytes),
    linkOpen: (uid) => c.mesh().isOpen(uid),
    anyLinkOpen: () => c.mesh().anyOpen(),
    linkConnect: (uid) => c.mesh().connect(uid),
    holdLink: (uid, on) => (on ? c.mesh().hold(uid) : c.mesh().release(uid)),
    candidates: async (channel) => {
      const f = await c.session().request((reqId) => ({ type: FrameType.OVERLAY_CANDIDATES, reqId, channel, max: 16 }))
      return f.type === FrameType.OVERLAY_CANDIDATES_RESULT ? f.candidates.map((x) => x.uid) : []
    },
  }
}

/** What a channel needs of the client around it. */
export function channelHost(c: ClientParts): ChannelHost {
  return {
    overlay: overlayHost(c),
    get uid() {
      return c.session().uid
    },
    requestTimeoutMs: c.requestTimeoutMs,
    request: (build) => c.session().request(build),
    sendToNode: (frame) => c.session().send(frame),
    sendChannelCopies: async (members, body, size) => {
      c.takeMessageToken()
      return c.delivery().sendChannelCopies(members, body, size)
    },
    broadcast: async (channel, body, stream, seq, audience, count) => {
      if (count) c.takeMessageToken()
      const payload = encodePeerFrame({ type: PeerFrameType.MESSAGE, stream, seq, floor: seq, sentTs: c.rt.clock.now(), ...body })
      const type = audience === 'all' ? FrameType.CHANNEL_BROADCAST : FrameType.OVERLAY_OUTSIDE_SEND
      await c.session().request((reqId) => ({ type, reqId, channel, payload }))
    },
    sendAwarenessDirect: (uid, channel, payload) =>
      c.mesh().send(uid, encodePeerFrame({ type: PeerFrameType.SYNC, channel, epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload })),
    dropMember: (channel, uid) => c.delivery().dropChannel(channel, uid),
    checkAttributeWriteRate: () => c.attrs.checkWriteRate(),
    get grants() {
      return c.grants()
    },
    forgetChannel: (channel) => void c.channels.delete(channel),
    loadCache: (channel) => c.storage.get(`doc/${c.appId}/${channel}`),
    saveCache: (channel, produce) => c.writer.schedule(`doc/${c.appId}/${channel}`, produce),
  }
}
