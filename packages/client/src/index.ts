import { ErrorCode, PlazaError } from '@plaza/protocol'
import { PlazaClient, type ClientDeps } from './client.js'
import type { WebSocketConstructor } from './signaling/session.js'
import type { ClientOptions } from './types.js'
import { IdbStorage } from './storage/idb-storage.js'

/**
 * Creates a client for `appId`.
 *
 * @example
 *   const client = createClient('my-app', { rendezvousUrl: 'wss://plaza.example.com' })
 *   await client.login({ uid: 'alice', token })
 *   client.on('MessageFromPeer', (msg, from) => console.log(from, msg))
 */
export function createClient(appId: string, options: ClientOptions, deps?: ClientDeps): PlazaClient {
  const WebSocketCtor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (!WebSocketCtor) {
    throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'no WebSocket available: pass options.WebSocket (e.g. from "ws")')
  }
  const storage = options.storage ?? (typeof indexedDB !== 'undefined' ? new IdbStorage() : undefined)
  return new PlazaClient(appId, { ...options, WebSocket: WebSocketCtor, storage }, deps)
}

export { PlazaClient }
export { MemoryStorage, type PlazaStorage } from './storage/storage.js'
export { IdbStorage }
export { PlazaChannel } from './channels/channel.js'
export type { ChannelAttributes, ChannelEvents, ChannelSendResult } from './channels/channel.js'
export type { ChannelAttributeOptions } from './attributes-api.js'
export { LocalInvitation, RemoteInvitation } from './invitations.js'
export type { LocalInvitationEvents, RemoteInvitationEvents } from './invitations.js'
export type {
  ClientEvents,
  ClientOptions,
  PeerMessageProps,
  PeersOnlineStatus,
  RawMessage,
  ReceivedMessage,
  RtmMessage,
  SendMessageOptions,
  TextMessage,
} from './types.js'
export type { SendResult, Path } from './delivery/outbox.js'
export type { MediaMessage, CreateMediaOptions } from './media/media-message.js'
export type { MediaData, DownloadMediaOptions } from './media/media.js'
export type { DownloadProgress } from './media/download.js'
export type { WebSocketConstructor, WebSocketLike } from './signaling/session.js'
export type { ClientDeps } from './client.js'
export type { Runtime } from './runtime.js'
export type { CreateLink, PeerLink, LinkOptions } from './mesh/link.js'
export { createNativeLink } from './mesh/native-link.js'
export {
  ConnectionState,
  ConnectionChangeReason,
  ErrorCode,
  PeerMessageState,
  PeerOnlineState,
  PlazaError,
  LocalInvitationState,
  RemoteInvitationState,
  InvitationFailureReason,
} from '@plaza/protocol'
