import { FrameType, PeerFrameType, SyncKind, encodePeerFrame, type Grants } from '@plaza/protocol'
import type { AttributesApi } from '../attributes-api.js'
import type { PeerDelivery } from '../delivery/peer-delivery.js'
import type { Mesh } from '../mesh/mesh.js'
import type { Runtime } from '../runtime.js'
import type { SignalingSession } from '../signaling/session.js'
import type { DebouncedWriter, PlazaStorage } from '../storage/storage.js'
import type { ChannelHost, PlazaChannel } from './channel.js'

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
}

/** What a channel needs of the client around it. */
export function channelHost(c: ClientParts): ChannelHost {
  return {
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
    broadcast: async (channel, body, size, stream, seq) => {
      c.takeMessageToken()
      const payload = encodePeerFrame({ type: PeerFrameType.MESSAGE, stream, seq, floor: seq, sentTs: c.rt.clock.now(), ...body })
      await c.session().request((reqId) => ({ type: FrameType.CHANNEL_BROADCAST, reqId, channel, payload }))
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
