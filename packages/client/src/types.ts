import type {
  ConnectionChangeReason,
  ConnectionState,
  PeerOnlineState,
  PlazaError,
} from '@plaza/protocol'
import type { WebSocketConstructor } from './signaling/session.js'
import type { RemoteInvitation } from './invitations.js'
import type { PlazaStorage } from './storage/storage.js'
import type { SendResult } from './delivery/outbox.js'
import type { MediaMessage } from './media/media-message.js'

/** A text message. */
export interface TextMessage {
  messageType?: 'TEXT'
  text: string
}

/** Raw bytes with a short description (≤ 256 bytes). */
export interface RawMessage {
  messageType: 'RAW'
  rawMessage: Uint8Array
  description?: string
}

/** A file or image message from `createMediaMessage` (or one received: it may be sent on as it is). */
export type RtmMessage = TextMessage | RawMessage | MediaMessage

/** A received message always says which type it is. */
export type ReceivedMessage =
  | { messageType: 'TEXT'; text: string }
  | { messageType: 'RAW'; rawMessage: Uint8Array; description: string }
  | MediaMessage

export interface SendMessageOptions {
  /** Keep the message on the rendezvous if the peer is offline (CACHED_BY_SERVER). Default false. */
  enableOfflineMessaging?: boolean
}

export interface PeerMessageProps {
  /**
   * When the rendezvous took the message (relay and offline paths, node clock, ms); for the
   * direct path, the sender's clock when it sent it.
   */
  serverReceivedTs: number
  /** Delivered from the offline store at login. */
  isOfflineMessage: boolean
  /** How this copy arrived (beyond the hosted SDKs). */
  path: 'direct' | 'relay' | 'offline'
}

export type PeersOnlineStatus = Record<string, PeerOnlineState>

export interface ClientEvents extends Record<string, unknown[]> {
  ConnectionStateChanged: [newState: ConnectionState, reason: ConnectionChangeReason]
  MessageFromPeer: [message: ReceivedMessage, peerId: string, props: PeerMessageProps]
  PeersOnlineStatusChanged: [status: PeersOnlineStatus]
  TokenPrivilegeWillExpire: []
  TokenExpired: []
  /** A direct WebRTC link to a user opened or closed (beyond). */
  PeerLinkStateChanged: [peerId: string, state: 'open' | 'closed']
  /** A message restored from storage after a reload has settled (its original promise is gone). */
  OutboxMessageSettled: [peerId: string, message: ReceivedMessage, result: SendResult]
  /** A call invitation arrived: answer with invitation.accept() or refuse(). */
  RemoteInvitationReceived: [invitation: RemoteInvitation]
  /** A followed user's attributes, in full (beyond; see subscribeUserAttributes). */
  UserAttributesUpdated: [userId: string, attributes: Record<string, string>]
  /**
   * At login, before that sender's stored messages: the node kept at most 200 messages for this
   * user while it was offline and dropped `count` older ones from `peerId`.
   */
  OfflineMessagesDropped: [peerId: string, count: number]
  /** The node sent a frame this client could not read (and that answered no request of ours). */
  ProtocolError: [error: PlazaError]
  /**
   * Something the app should know that is not an error, at `login()`: code WEBRTC_UNAVAILABLE when
   * direct links are off for lack of WebRTC (no RTCPeerConnection, no `wrtc`): everything is relayed.
   */
  Warning: [warning: PlazaError]
}

export interface ClientOptions {
  /**
   * The rendezvous node, e.g. `wss://plaza.example.com` or `ws://localhost:7420`; or the nodes of
   * a deployment (`--engine redis`), tried in turn: after a connection is lost the client goes on
   * to the next one and resumes there.
   */
  rendezvousUrl: string | string[]
  /**
   * WebRTC for Node: `@roamhq/wrtc` when installed, or another implementation of the same API, such
   * as `require('node-datachannel/polyfill')` (README: Node clients facing untrusted users). Browsers
   * use their own.
   */
  wrtc?: object
  /** WebSocket constructor; defaults to the global one (the `node` entry supplies `ws`). */
  WebSocket?: WebSocketConstructor
  /** RTCPeerConnection configuration: ICE (STUN/TURN) servers, transport policy. */
  rtcConfig?: RTCConfiguration
  /**
   * Build direct links at all. Default true; false sends everything through the relay. Without
   * WebRTC (no RTCPeerConnection, no `wrtc`) they are off, and `login()` emits a Warning.
   */
  directLinks?: boolean
  /** Most direct links open at once. Default 32. */
  maxLinks?: number
  /**
   * Members above which a channel's messages travel member to member through its overlay (each
   * member keeps a few links) instead of one copy per member. Default 24; Infinity turns the
   * overlay off (this member is then outside it: see the README). At least 5; every member of a
   * channel should use the same value. Needs direct links and Ed25519 in WebCrypto.
   */
  overlayThreshold?: number
  /** Close a direct link after this long without traffic. Default 60 000 ms. */
  linkIdleTimeoutMs?: number
  /** A direct link not open in this time has failed (messages keep using the relay). Default 15 000 ms. */
  linkConnectTimeoutMs?: number
  /** SENT_TIMEOUT after this long. Default 10 000 ms. */
  messageTimeoutMs?: number
  /** Login must complete within this time (LOGIN_TIMEOUT). Default 10 000 ms. */
  loginTimeoutMs?: number
  /** Requests to the rendezvous time out after this long. Default 10 000 ms. */
  requestTimeoutMs?: number
  /** Reconnect backoff, first delay and cap (each with ±50 % jitter). Defaults 500 and 5 000 ms (Socket.IO's cap): a node back after a restart is found within ~7.5 s, inside the 10 s send timeout. */
  reconnectMinMs?: number
  reconnectMaxMs?: number
  /**
   * Where the outbox and cached channel documents live. Default: IndexedDB (idb-keyval) in a
   * browser, memory in Node (use `FileStorage` from the node entry to keep them on disk).
   */
  storage?: PlazaStorage
  /** Bytes of media copies kept (downloads, and sent files saved for serving after a reload). Default 512 MiB. */
  mediaCacheBytes?: number
  /** Largest file this client creates or downloads. Default 100 MiB, as the node's media store's default (it has its own limit). */
  maxMediaBytes?: number
  /** Client-side message rate limit (peer and channel messages). Default 1500 per 3000 ms. */
  messageRateLimit?: { count: number; windowMs: number }
}
