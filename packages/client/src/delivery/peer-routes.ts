import { ErrorCode, FrameType, PlazaError, RelayStatus, isOverlayFrameBytes, peekOverlayFrame, type PeerMessageFrame } from '@plaza/protocol'
import type { PlazaChannel } from '../channels/channel.js'
import type { MediaManager } from '../media/media.js'
import type { Mesh } from '../mesh/mesh.js'
import { toReceived } from '../messages.js'
import type { Runtime } from '../runtime.js'
import type { SignalingSession } from '../signaling/session.js'
import type { Arrival } from './inbox.js'
import type { DeliveryHost, PeerDelivery } from './peer-delivery.js'

interface ClientParts {
  appId: string
  mesh: Mesh
  session: SignalingSession
  channels: Map<string, PlazaChannel>
  rt: Runtime
  directLinks: boolean
  /** Getters: the client makes these after the routes. */
  delivery(): PeerDelivery
  media(): MediaManager
  /** The client's events (MessageFromPeer, OutboxMessageSettled, OfflineMessagesDropped). */
  emit(event: string, ...args: unknown[]): void
  /** The app is within its own message rate. */
  withinRate(): boolean
}

/** The ways peer frames go out (link, relay) and where those that come in go (media, channel overlays, delivery, the app). */
export interface PeerRoutes {
  deliveryHost: DeliveryHost
  /** One relay request and its answer. */
  relayOnce(to: string, bytes: Uint8Array, offline: boolean): Promise<RelayStatus>
  /** Peer frame bytes from `from`, over a direct link, the relay or the store. */
  onPeerBytes(from: string, bytes: Uint8Array, arrival: Arrival): void
}

export function peerRoutes(c: ClientParts): PeerRoutes {
  const relayOnce = async (to: string, bytes: Uint8Array, offline: boolean): Promise<RelayStatus> => {
    const f = await c.session.request((reqId) => ({ type: FrameType.RELAY_TO, reqId, to, offline, payload: bytes }))
    if (f.type !== FrameType.RELAY_RESULT) throw new PlazaError(ErrorCode.INTERNAL, 'unexpected answer to relay')
    return f.status
  }
  /** A message through the relay; a media message for an offline receiver first puts its file in the node's store. */
  const relay = async (to: string, bytes: Uint8Array, offline: boolean): Promise<RelayStatus> => {
    const status = await relayOnce(to, bytes, offline)
    if (status !== RelayStatus.MEDIA_WANTED) return status
    await c.media().uploadFor(bytes)
    return relayOnce(to, bytes, offline)
  }
  const deliverToApp = (from: string, f: PeerMessageFrame, arrival: Arrival): boolean | 'held' => {
    const message = toReceived(from, f, c.media())
    if (!message) return false
    if (f.channel) return c.channels.get(f.channel)?._onMessage(message, from, f.after, () => c.delivery().released(from, f.stream, f.seq)) ?? false
    c.emit('MessageFromPeer', message, from, {
      serverReceivedTs: arrival.serverTs,
      isOfflineMessage: arrival.path === 'offline',
      path: arrival.path,
    })
    return true
  }
  return {
    relayOnce,
    deliveryHost: {
      appId: c.appId,
      linkSend: (uid, bytes) => c.mesh.send(uid, bytes),
      linkOpen: (uid) => c.mesh.isOpen(uid),
      linkWanted: (uid) => {
        if (c.directLinks) c.mesh.connect(uid)
      },
      linkGone: (uid) => c.mesh.disconnect(uid),
      relay,
      sendToNode: (frame) => c.session.send(frame),
      deliver: deliverToApp,
      restoredSettled: (peer, message, result) => c.emit('OutboxMessageSettled', peer, message, result),
      offlineDropped: (from, count) => c.emit('OfflineMessagesDropped', from, count),
      isMember: (channel, uid) => c.channels.get(channel)?._hasMember(uid) ?? false,
      nodeNow: () => c.rt.clock.now() + c.session.clockOffset,
      withinRate: () => c.withinRate(),
      acceptsChannelMessage: (channel, uid) => c.channels.get(channel)?._acceptsFrom(uid) ?? false,
    },
    onPeerBytes(from, bytes, arrival) {
      if (isOverlayFrameBytes(bytes)) {
        // Channel overlays run over direct links only.
        const head = arrival.path === 'direct' ? peekOverlayFrame(bytes) : null
        if (head) c.channels.get(head.channel)?._onOverlayFrame(from, bytes)
        return
      }
      if (c.media().onFrame(from, bytes)) return
      const sync = c.delivery().onPeerBytes(from, bytes, arrival)
      // Channel state over a direct link: awareness only, and only from a member of that channel.
      if (sync && arrival.path === 'direct') c.channels.get(sync.channel)?._onPeerSync(from, sync.kind, sync.payload)
    },
  }
}
