/**
 * agora-rtm-sdk 1.x's RtmClient over a @plaza/client PlazaClient: the same methods, events and
 * argument shapes; Plaza's outcomes and errors translated to the SDK's.
 */
import { createClient, type ClientOptions, type PlazaClient } from '@plaza/client'
import { ConnectionState, DEFAULT_LIMITS, ErrorCode, PeerMessageState, PlazaError, isValidId, type ConnectionChangeReason, type PeerOnlineState } from '@plaza/protocol'
import { RtmChannel } from './channel.js'
import { EventEmitter } from './emitter.js'
import { isAgoraId } from './ids.js'
import { PeerSubscriptionOption, type LogFilterType } from './enums.js'
import { rtmError, shaped, toRtmError } from './errors.js'
import { LocalInvitation, RemoteInvitation } from './invitations.js'
import {
  MediaBook,
  createMessage,
  fromPlaza,
  toPlaza,
  type ReceivedMessageProperties,
  type RtmFileMessage,
  type RtmImageMessage,
  type RtmMessage,
} from './messages.js'

export type RtmClientEvents = {
  MessageFromPeer: [message: RtmMessage, peerId: string, messageProps: ReceivedMessageProperties]
  ConnectionStateChanged: [newState: ConnectionState, reason: ConnectionChangeReason]
  RemoteInvitationReceived: [remoteInvitation: RemoteInvitation]
  TokenExpired: []
  TokenPrivilegeWillExpire: []
  PeersOnlineStatusChanged: [status: Record<string, PeerOnlineState>]
  /** The SDK's cloud proxy; never emitted (a Plaza node is reached directly). */
  FallbackProxyConnected: []
}

/** What Plaza needs that the SDK did not have; give it to AgoraRTM.configure or createInstance's config. */
export interface PlazaConfig {
  /** The rendezvous node, e.g. `wss://plaza.example.com`, or the nodes of a deployment. */
  rendezvousUrl?: string | string[]
  /**
   * Where login() gets a Plaza token when it is called without one (apps that logged in to Agora
   * without tokens): fetch one from your app server.
   */
  tokenProvider?: (uid: string) => string | Promise<string>
  /** Further @plaza/client options (rtcConfig with your STUN/TURN servers, storage, wrtc in Node, ...). */
  clientOptions?: Partial<ClientOptions>
}

/** createInstance's config: the SDK's fields (accepted, no effect) and Plaza's. */
export interface RtmConfig extends PlazaConfig {
  enableLogUpload?: boolean
  logFilter?: LogFilterType
  enableCloudProxy?: boolean
}

export interface SendMessageOptions {
  /** Keep it on the node while the peer is offline (or its connection is down); delivered when it is back. */
  enableOfflineMessaging?: boolean
  /** Accepted; Plaza keeps no message history. */
  enableHistoricalMessaging?: boolean
}

export interface PeerMessageSendResult {
  /** True once the peer's app got it; false when it was stored for the offline peer or the peer is offline. */
  hasPeerReceived: boolean
}

export interface MediaOperationProgress {
  currentSize: number
  totalSize: number
}

export interface MediaTransferHandler {
  cancelSignal?: AbortSignal
  onOperationProgress?: (event: MediaOperationProgress) => void
}

export interface MediaMessageParams {
  messageType?: 'FILE' | 'IMAGE'
  fileName?: string
  description?: string
  thumbnail?: Blob | undefined
  width?: number
  height?: number
  thumbnailWidth?: number | undefined
  thumbnailHeight?: number | undefined
}

/**
 * A peer message's Plaza outcome in Agora's terms. `left`: a copy left this client (Plaza's
 * result has a path), so a later NOT_LOGGED_IN (the app logged out while it was in flight) does
 * not mean refused: the peer may have it, which Agora says with a timeout, not with "not logged in"
 * (an app resends on that, and the peer would get it twice).
 */
export function sendOutcome(state: PeerMessageState, left = false): PeerMessageSendResult {
  if (state === PeerMessageState.NOT_LOGGED_IN && left) {
    throw rtmError('PEER_MESSAGE', 'timeout', 'logged out before the peer confirmed the message: it may have arrived', ErrorCode.NOT_LOGGED_IN)
  }
  switch (state) {
    case PeerMessageState.RECEIVED_BY_PEER:
      return { hasPeerReceived: true }
    case PeerMessageState.CACHED_BY_SERVER:
    case PeerMessageState.PEER_UNREACHABLE:
      return { hasPeerReceived: false }
    case PeerMessageState.SENT_TIMEOUT:
      throw rtmError('PEER_MESSAGE', 'timeout', 'the peer did not confirm the message in time', ErrorCode.TIMEOUT)
    case PeerMessageState.TOO_OFTEN:
      throw rtmError('PEER_MESSAGE', 'often', 'too many messages', ErrorCode.TOO_OFTEN)
    case PeerMessageState.INVALID_USER_ID:
      throw rtmError('PEER_MESSAGE', 'userId', 'invalid peer id', ErrorCode.INVALID_USER_ID)
    case PeerMessageState.INVALID_MESSAGE:
      throw rtmError('PEER_MESSAGE', 'argument', 'invalid message (at most 32 KB)', ErrorCode.INVALID_MESSAGE)
    case PeerMessageState.NOT_LOGGED_IN:
      throw rtmError('PEER_MESSAGE', 'notLoggedIn', 'not logged in', ErrorCode.NOT_LOGGED_IN)
    case PeerMessageState.OFFLINE_QUOTA_EXCEEDED:
      throw rtmError('PEER_MESSAGE', 'limit', 'the peer is offline and the node stores no more messages from this sender', ErrorCode.QUOTA_EXCEEDED)
    default:
      throw rtmError('PEER_MESSAGE', 'failure', 'the message could not be sent')
  }
}

function agoraChannelId(id: unknown): string {
  if (!isAgoraId(id)) throw rtmError('ATTRIBUTE_OPERATION', 'argument', 'invalid channelId: 1-64 printable bytes, not "null"')
  return id
}

function channelIdList(ids: unknown): string[] {
  if (!Array.isArray(ids) || !ids.every(isAgoraId)) throw rtmError('GET_CHANNEL_MEMBER_COUNT', 'argument', 'channelIds: an array of ids (1-64 printable bytes, not "null")')
  return ids
}

function agoraUserId(id: unknown): string {
  if (!isAgoraId(id)) throw rtmError('ATTRIBUTE_OPERATION', 'userId', 'invalid userId: 1-64 printable bytes, not "null"')
  return id
}

/** A list of peer ids: the SDK refuses a bad id as an invalid argument, and a query of more than 256 ids too. */
function peerIdList(op: 'QUERY_PEERS_ONLINE_STATUS' | 'PEER_SUBSCRIPTION_STATUS', ids: unknown): string[] {
  if (!Array.isArray(ids) || !ids.every(isAgoraId)) throw rtmError(op, 'argument', 'peerIds: an array of ids (1-64 printable bytes, not "null")')
  const max = DEFAULT_LIMITS.presenceQueryIds
  if (op === 'QUERY_PEERS_ONLINE_STATUS' && ids.length > max) throw rtmError(op, 'argument', `at most ${max} peer ids`)
  return ids
}

/** The keys of a ...ByKeys call: an array of strings, or RtmInvalidArgumentError (Plaza would read a string as its characters). */
function keyList(keys: unknown): string[] {
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw rtmError('ATTRIBUTE_OPERATION', 'argument', 'the keys must be an array of strings')
  return keys
}

function abortError(): Error {
  const err = rtmError('MEDIA', 'failure', 'The request aborted.', ErrorCode.CANCELLED)
  err.name = 'AbortError'
  return err
}

export class RtmClient extends EventEmitter<RtmClientEvents> {
  private readonly inner: PlazaClient
  private readonly media = new MediaBook()
  private readonly channels = new Map<string, RtmChannel>()
  private readonly tokenProvider: PlazaConfig['tokenProvider']

  /** @internal Use AgoraRTM.createInstance. */
  /** Bumped by each logout(): a login whose token arrives after one is dropped. */
  private loginGen = 0
  /** Logins waiting for config.tokenProvider (the client is still DISCONNECTED meanwhile). */
  private fetchingToken = 0

  constructor(appId: string, config: RtmConfig) {
    super()
    const urls = config.rendezvousUrl
    if (urls === undefined || (Array.isArray(urls) ? urls.length === 0 : typeof urls !== 'string' || urls === '')) {
      throw rtmError('CREATE_INSTANCE', 'argument', 'no rendezvous: call AgoraRTM.configure({ rendezvousUrl }) or pass { rendezvousUrl } to createInstance')
    }
    if (typeof appId !== 'string' || !isValidId(appId)) throw rtmError('CREATE_INSTANCE', 'argument', 'invalid appId')
    this.tokenProvider = config.tokenProvider
    try {
      this.inner = createClient(appId, { ...config.clientOptions, rendezvousUrl: urls })
    } catch (err) {
      throw toRtmError('CREATE_INSTANCE', err)
    }
    const c = this.inner
    c.on('ConnectionStateChanged', (state, reason) => this._emit('ConnectionStateChanged', state, reason))
    c.on('MessageFromPeer', (message, peerId, props) => {
      this._emit('MessageFromPeer', fromPlaza(message, this.media), peerId, { serverReceivedTs: props.serverReceivedTs, isOfflineMessage: props.isOfflineMessage })
    })
    c.on('PeersOnlineStatusChanged', (status) => this._emit('PeersOnlineStatusChanged', status))
    c.on('TokenExpired', () => this._emit('TokenExpired'))
    c.on('TokenPrivilegeWillExpire', () => this._emit('TokenPrivilegeWillExpire'))
    c.on('RemoteInvitationReceived', (inv) => this._emit('RemoteInvitationReceived', new RemoteInvitation(inv)))
  }

  /** The Plaza client underneath, for what the SDK did not have (direct links, grants, user attribute subscriptions). */
  get plaza(): PlazaClient {
    return this.inner
  }

  /** Logs in with a Plaza token minted by your app server (or from config.tokenProvider). */
  login(options: { uid: string; token?: string }): Promise<void> {
    return shaped('LOGIN', async () => {
      if (typeof options !== 'object' || options === null) throw rtmError('LOGIN', 'argument', 'login({ uid, token })')
      const { uid } = options
      if (!isAgoraId(uid)) throw rtmError('LOGIN', 'argument', 'invalid uid: 1-64 printable bytes, not "null"')
      let token = options.token
      if (token === undefined || token === '') {
        if (!this.tokenProvider) throw rtmError('LOGIN', 'token', 'a Plaza token is required: login({ uid, token }) or config.tokenProvider')
        const gen = ++this.loginGen
        this.fetchingToken++
        try {
          token = await this.tokenProvider(uid)
        } finally {
          this.fetchingToken--
        }
        // logout() while the token was being fetched: the app no longer wants this login.
        if (gen !== this.loginGen) throw rtmError('LOGIN', 'failure', 'logout() was called while logging in')
      }
      await this.inner.login({ uid, token })
    })
  }

  logout(): Promise<void> {
    return shaped('LOGOUT', async () => {
      this.loginGen++
      if (this.inner.connectionState === ConnectionState.DISCONNECTED) {
        if (this.fetchingToken > 0) return // the login under way stops before it connects
        throw rtmError('LOGOUT', 'notLoggedIn', 'not logged in')
      }
      await this.inner.logout()
    })
  }

  renewToken(token: string): Promise<void> {
    return shaped('RENEW_TOKEN', async () => {
      if (typeof token !== 'string' || token === '') throw rtmError('RENEW_TOKEN', 'argument', 'token: a non-empty string')
      if (!this.loggedIn) throw rtmError('RENEW_TOKEN', 'notLoggedIn', 'not logged in')
      await this.inner.renewToken(token)
    })
  }

  /**
   * Resolves `{ hasPeerReceived: true }` once the peer's app got it, `false` when the peer is
   * offline (stored for it with `enableOfflineMessaging`); rejects with the SDK's
   * PEER_MESSAGE_ERR_* codes otherwise.
   */
  sendMessageToPeer(message: RtmMessage, peerId: string, options?: SendMessageOptions): Promise<PeerMessageSendResult> {
    return shaped('PEER_MESSAGE', async () => {
      if (!isAgoraId(peerId)) throw rtmError('PEER_MESSAGE', 'userId', 'invalid peerId')
      const plazaMessage = toPlaza(message, this.media, 'PEER_MESSAGE')
      const r = await this.inner.sendMessageToPeer(plazaMessage, peerId, { enableOfflineMessaging: options?.enableOfflineMessaging === true })
      return sendOutcome(r.state, r.path !== null)
    })
  }

  createMessage<T extends RtmMessage>(message: Partial<T>): T {
    return createMessage<T>(message)
  }

  /** The channel object for `channelId` (the same one for the same id); join() it. */
  createChannel(channelId: string): RtmChannel {
    if (!isAgoraId(channelId)) throw rtmError('CREATE_CHANNEL', 'argument', 'invalid channelId: 1-64 printable bytes, not "null"')
    let ch = this.channels.get(channelId)
    if (!ch) {
      try {
        ch = new RtmChannel(this.inner.createChannel(channelId), this.media)
      } catch (err) {
        throw toRtmError('CREATE_CHANNEL', err)
      }
      this.channels.set(channelId, ch)
    }
    return ch
  }

  createLocalInvitation(calleeId: string): LocalInvitation {
    if (!isAgoraId(calleeId)) throw rtmError('INVITATION_API_CALL', 'argument', 'invalid calleeId: 1-64 printable bytes, not "null"')
    try {
      return new LocalInvitation(this.inner.createLocalInvitation(calleeId), () => this.inner.uid)
    } catch (err) {
      throw toRtmError('INVITATION_API_CALL', err)
    }
  }

  // ---- presence --------------------------------------------------------------------------

  /** `true` for each id that is ONLINE, `false` for OFFLINE and UNREACHABLE (up to 256 ids). */
  queryPeersOnlineStatus(peerIds: string[]): Promise<Record<string, boolean>> {
    return shaped('QUERY_PEERS_ONLINE_STATUS', async () => {
      const states = await this.inner.queryPeersOnlineStatus(peerIdList('QUERY_PEERS_ONLINE_STATUS', peerIds))
      const out: Record<string, boolean> = {}
      for (const id of Object.keys(states)) out[id] = states[id] === 'ONLINE'
      return out
    })
  }

  subscribePeersOnlineStatus(peerIds: string[]): Promise<void> {
    return shaped('PEER_SUBSCRIPTION_STATUS', () => this.inner.subscribePeersOnlineStatus(peerIdList('PEER_SUBSCRIPTION_STATUS', peerIds)))
  }

  unsubscribePeersOnlineStatus(peerIds: string[]): Promise<void> {
    return shaped('PEER_SUBSCRIPTION_STATUS', () => this.inner.unsubscribePeersOnlineStatus(peerIdList('PEER_SUBSCRIPTION_STATUS', peerIds)))
  }

  queryPeersBySubscriptionOption(option: PeerSubscriptionOption | 'ONLINE_STATUS'): Promise<string[]> {
    return shaped('QUERY_PEERS_BY_SUBSCRIPTION_OPTION', async () => {
      if (option !== PeerSubscriptionOption.ONLINE_STATUS) throw rtmError('QUERY_PEERS_BY_SUBSCRIPTION_OPTION', 'argument', 'option: ONLINE_STATUS')
      if (!this.loggedIn) throw rtmError('QUERY_PEERS_BY_SUBSCRIPTION_OPTION', 'notLoggedIn', 'not logged in')
      return this.inner.queryPeersBySubscriptionOption()
    })
  }

  // ---- user attributes ---------------------------------------------------------------------

  setLocalUserAttributes(attributes: Record<string, string>): Promise<void> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.setLocalUserAttributes(attributes))
  }
  addOrUpdateLocalUserAttributes(attributes: Record<string, string>): Promise<void> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.addOrUpdateLocalUserAttributes(attributes))
  }
  deleteLocalUserAttributesByKeys(attributeKeys: string[]): Promise<void> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.deleteLocalUserAttributesByKeys(keyList(attributeKeys)))
  }
  clearLocalUserAttributes(): Promise<void> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.clearLocalUserAttributes())
  }
  getUserAttributes(userId: string): Promise<Record<string, string>> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.getUserAttributes(agoraUserId(userId)))
  }
  getUserAttributesByKeys(userId: string, attributeKeys: string[]): Promise<Record<string, string>> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.getUserAttributesByKeys(agoraUserId(userId), keyList(attributeKeys)))
  }

  // ---- channel attributes and counts --------------------------------------------------------

  setChannelAttributes(channelId: string, attributes: Record<string, string>, options?: ChannelAttributeOptions): Promise<void> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.setChannelAttributes(agoraChannelId(channelId), attributes, options))
  }
  addOrUpdateChannelAttributes(channelId: string, attributes: Record<string, string>, options?: ChannelAttributeOptions): Promise<void> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.addOrUpdateChannelAttributes(agoraChannelId(channelId), attributes, options))
  }
  deleteChannelAttributesByKeys(channelId: string, attributeKeys: string[], options?: ChannelAttributeOptions): Promise<void> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.deleteChannelAttributesByKeys(agoraChannelId(channelId), keyList(attributeKeys), options))
  }
  clearChannelAttributes(channelId: string, options?: ChannelAttributeOptions): Promise<void> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.clearChannelAttributes(agoraChannelId(channelId), options))
  }
  getChannelAttributes(channelId: string): Promise<ChannelAttributes> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.getChannelAttributes(agoraChannelId(channelId)))
  }
  getChannelAttributesByKeys(channelId: string, keys: string[]): Promise<ChannelAttributes> {
    return shaped('ATTRIBUTE_OPERATION', () => this.inner.getChannelAttributesByKeys(agoraChannelId(channelId), keyList(keys)))
  }

  /** Members of up to 32 channels; no membership needed; 0 for an unknown channel. */
  getChannelMemberCount(channelIds: string[]): Promise<Record<string, number>> {
    return shaped('GET_CHANNEL_MEMBER_COUNT', () => this.inner.getChannelMemberCount(channelIdList(channelIds)))
  }

  // ---- media messages (agora-rtm-sdk 1.4) --------------------------------------------------

  /**
   * A file or image message (a Plaza media message): the bytes stay with this client, which
   * serves them to whoever is sent the message (and hands them to the node's store for an offline
   * receiver). Progress is reported once, when the message is ready.
   */
  createMediaMessageByUploading(payload: Blob, params?: MediaMessageParams & { messageType?: 'FILE' }, transHandler?: MediaTransferHandler): Promise<RtmFileMessage>
  createMediaMessageByUploading(payload: Blob, params?: MediaMessageParams & { messageType?: 'IMAGE' }, transHandler?: MediaTransferHandler): Promise<RtmImageMessage>
  createMediaMessageByUploading(payload: Blob, params: MediaMessageParams = {}, transHandler: MediaTransferHandler = {}): Promise<RtmFileMessage | RtmImageMessage> {
    return shaped('MEDIA', async () => {
      const signal = transHandler.cancelSignal
      if (signal?.aborted) throw abortError()
      const messageType = params.messageType ?? 'FILE'
      const thumbnail = params.thumbnail ? new Uint8Array(await params.thumbnail.arrayBuffer()) : undefined
      const m = await this.inner.createMediaMessage(payload, {
        messageType,
        fileName: params.fileName || (messageType === 'IMAGE' ? 'image' : 'file'),
        mimeType: payload.type || undefined,
        description: params.description,
        thumbnail,
        width: params.width,
        height: params.height,
      })
      if (signal?.aborted) {
        await this.inner.releaseMedia(m.mediaId)
        throw abortError()
      }
      transHandler.onOperationProgress?.({ currentSize: m.size, totalSize: m.size })
      return fromPlaza(m, this.media) as RtmFileMessage | RtmImageMessage
    })
  }

  /** The bytes of a media message received (or made) here: from the sender, channel members that have them, or the node's store. */
  downloadMedia(mediaId: string, transHandler: MediaTransferHandler = {}): Promise<Blob> {
    return shaped('MEDIA', async () => {
      if (typeof mediaId !== 'string' || mediaId === '') throw rtmError('MEDIA', 'argument', 'mediaId: a string')
      const { cancelSignal, onOperationProgress } = transHandler
      if (cancelSignal?.aborted) throw abortError()
      try {
        return await this.inner.downloadMedia(this.media.get(mediaId) ?? mediaId, {
          signal: cancelSignal,
          onProgress: onOperationProgress ? (p) => onOperationProgress({ currentSize: p.loaded, totalSize: p.total }) : undefined,
        })
      } catch (err) {
        if (err instanceof PlazaError && err.code === ErrorCode.CANCELLED) throw abortError()
        throw err
      }
    })
  }

  // ---- the SDK's configuration: accepted, no effect --------------------------------------

  updateConfig(_config: RtmConfig): void {}
  setParameters(_config: RtmConfig): void {}
  enableLogUpload(): void {}
  disableLogUpload(): void {}
  setLogFilter(_filter: LogFilterType): void {}

  private get loggedIn(): boolean {
    const s = this.inner.connectionState
    return s === ConnectionState.CONNECTED || s === ConnectionState.RECONNECTING
  }
}

export interface ChannelAttributeOptions {
  enableNotificationToChannelMembers?: boolean
}
type ChannelAttributes = Record<string, { value: string; lastUpdateUserId: string; lastUpdateTs: number }>
