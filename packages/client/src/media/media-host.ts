import { FrameType, type RelayStatus } from '@plaza/protocol'
import type { PlazaChannel } from '../channels/channel.js'
import type { ClientDeps } from '../client.js'
import type { Mesh } from '../mesh/mesh.js'
import type { Runtime } from '../runtime.js'
import type { SignalingSession } from '../signaling/session.js'
import type { PlazaStorage } from '../storage/storage.js'
import { nobleSha256, type Sha256Factory } from './hash.js'
import type { MediaHost } from './media.js'
import { httpBase } from './node-store.js'

/** @noble/hashes, but never handed to WebCrypto (see hashPiece). */
const syncNobleSha256: Sha256Factory = () => nobleSha256()

/** Members of a channel asked for a file's pieces at most (besides its sender). */
const MAX_CHANNEL_SOURCES = 8

interface ClientParts {
  mesh: Mesh
  session: SignalingSession
  channels: Map<string, PlazaChannel>
  storage: PlazaStorage
  rt: Runtime
  deps: ClientDeps
  directLinks: boolean
}

/** What media needs of the client around it: links, the relay, the node's store, channel members. */
export function mediaHost(c: ClientParts, relayOnce: (to: string, bytes: Uint8Array) => Promise<RelayStatus>): MediaHost {
  return {
    transport: {
      linkOpen: (uid) => c.mesh.isOpen(uid),
      linkSend: (uid, bytes) => c.mesh.send(uid, bytes),
      linkWanted: (uid) => {
        if (c.directLinks) c.mesh.connect(uid)
      },
      relaySend: (to, payload) => c.session.send({ type: FrameType.RELAY_TO, reqId: 0, to, offline: false, payload }),
      relayPending: () => c.session.pendingBytes,
      relayRequest: relayOnce,
    },
    storage: c.storage,
    clock: c.rt.clock,
    random: () => c.rt.random(),
    // In virtual time (the simulation) nothing may finish on its own schedule: no WebCrypto, no HTTP.
    sha256: c.deps.sha256 ?? (c.rt.virtualTime ? syncNobleSha256 : nobleSha256),
    files: c.deps.mediaFiles ?? null,
    node: () => {
      if (!c.session.connected || c.rt.virtualTime) return null
      const { url, token } = c.session.endpoint
      return { baseUrl: httpBase(url), token }
    },
    channelSources: (channel) => {
      const members = (c.channels.get(channel)?._memberIds() ?? []).filter((uid) => uid !== c.session.uid)
      const open = members.filter((uid) => c.mesh.isOpen(uid))
      // Links to a few more members, so that the next round has them to ask (the mesh caps links).
      if (c.directLinks) {
        for (const uid of members.filter((u) => !c.mesh.isOpen(u)).slice(0, Math.max(0, MAX_CHANNEL_SOURCES - open.length))) c.mesh.connect(uid)
      }
      return open.slice(0, MAX_CHANNEL_SOURCES)
    },
    self: () => c.session.uid,
  }
}
