import {
  AttributeOp,
  ConnectionChangeReason as Reason,
  ConnectionState as State,
  DEFAULT_RATE_LIMITS,
  ErrorCode,
  FrameType,
  MAX_DESCRIPTION_BYTES,
  MAX_MESSAGE_BYTES,
  PeerMessageState,
  PlazaError,
  RateBucket,
  assertUserId,
  isValidId,
  messageBodyBytes,
  utf8Length,
  type ServerFrame,
  readTokenClaims,
  type Grants,
} from '@plaza/protocol'
import { OVERLAY_LIMITS } from './overlay/config.js'
import { Emitter } from './emitter.js'
import type { SendResult } from './delivery/outbox.js'
import { PeerDelivery } from './delivery/peer-delivery.js'
import { Mesh } from './mesh/mesh.js'
import { peerRoutes, type PeerRoutes } from './delivery/peer-routes.js'
import type { CreateLink } from './mesh/link.js'
import { SignalingSession, type WebSocketConstructor } from './signaling/session.js'
import { PlazaChannel, type ChannelAttributes, type ChannelHost } from './channels/channel.js'
import { channelHost } from './channels/channel-host.js'
import { AttributesApi, toUserAttributes, type ChannelAttributeOptions } from './attributes-api.js'
import { toBody } from './messages.js'
import { MediaManager, type DownloadMediaOptions, type MediaData } from './media/media.js'
import type { CreateMediaOptions, MediaMessage } from './media/media-message.js'
import type { Sha256Factory } from './media/hash.js'
import { mediaHost } from './media/media-host.js'
import type { MediaFiles } from './media/pieces.js'
import { Presence, checkIds } from './presence.js'
import { InvitationBook, type LocalInvitation } from './invitations.js'
import { DebouncedWriter, MemoryStorage, type PlazaStorage } from './storage/storage.js'
import { systemRuntime, type Runtime } from './runtime.js'
import type {
  ClientEvents,
  ClientOptions,
  PeersOnlineStatus,
  ReceivedMessage,
  RtmMessage,
  SendMessageOptions,
} from './types.js'

/** What the client takes from outside besides its options (tests and simulations inject their own). */
export interface ClientDeps {
  runtime?: Runtime
  /** Makes WebRTC links; `createNativeLink` by default (simple-peer: `@plaza/client/simple-peer`). */
  createLink?: CreateLink
  /** Files on disk for media (the Node entry passes them). */
  mediaFiles?: MediaFiles
  /** SHA-256 for media (the Node entry passes node:crypto's). */
  sha256?: Sha256Factory
}

/** Peer messages under way (sent, not settled) at most this many bytes in all; past it TOO_OFTEN. */
const MAX_UNSETTLED_BYTES = 16 * 1024 * 1024
/** flushStorage() rounds at most. */
const FLUSH_ROUNDS = 4

/**
 * The live clients of this page, told when it is about to go away (beforeunload, pagehide); one
 * listener for all of them, and weak references so that a client dropped without destroy() is not kept.
 */
const pageHide = ((): { add(c: PlazaClient): void; delete(c: PlazaClient): void } => {
  const g = globalThis as { addEventListener?: (type: string, fn: () => void) => void; document?: unknown }
  if (typeof g.addEventListener !== 'function' || g.document === undefined) return { add: () => undefined, delete: () => undefined }
  const live = new Set<WeakRef<PlazaClient>>()
  const hide = () => {
    for (const r of live) r.deref()?._onPageHide()
  }
  // beforeunload as well: on pagehide the page's connections are already being torn down, and a
  // BYE sent then may never leave.
  g.addEventListener('beforeunload', hide)
  g.addEventListener('pagehide', hide)
  return {
    add: (c) => {
      // References whose client was collected (never destroyed) go here, so the set stays bounded.
      for (const r of live) if (r.deref() === undefined) live.delete(r)
      live.add(new WeakRef(c))
    },
    delete: (c) => {
      for (const r of live) if (r.deref() === c) live.delete(r)
    },
  }
})()

/**
 * A Plaza client: one user's session with the rendezvous, its direct links, and its messages.
 * Create it with `createClient(appId, options)`.
 */
export class PlazaClient extends Emitter<ClientEvents> {
  readonly appId: string
  private readonly session: SignalingSession
  private readonly mesh: Mesh
  private tokenGrants: Grants = {}
  private destroyed = false
  /** Bytes of peer messages sent and not settled yet. */
  private unsettledBytes = 0
  private readonly delivery: PeerDelivery
  private readonly routes: PeerRoutes
  private readonly presence: Presence
  private readonly media: MediaManager
  private readonly messageBucket: RateBucket
  private readonly channels = new Map<string, PlazaChannel>()
  private readonly channelHost: ChannelHost
  private readonly attrs: AttributesApi
  private requestTimeoutMs: number
  private readonly invitations: InvitationBook
  private readonly storage: PlazaStorage
  private readonly writer: DebouncedWriter
  private readonly rt: Runtime
  private readonly opts: Required<Pick<ClientOptions, 'messageTimeoutMs' | 'directLinks'>>
  /** Direct links were asked for and there is no WebRTC: told once, at login (Warning). */
  private webrtcMissing = false

  constructor(appId: string, options: ClientOptions & { WebSocket: WebSocketConstructor }, deps: ClientDeps = {}) {
    super()
    if (!isValidId(appId)) throw new PlazaError(ErrorCode.INVALID_APP_ID, 'invalid app id')
    const client = this
    const urls = typeof options?.rendezvousUrl === 'string' ? [options.rendezvousUrl] : options?.rendezvousUrl
    if (!Array.isArray(urls) || urls.length === 0 || urls.some((u) => typeof u !== 'string' || u === '')) {
      throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'rendezvousUrl is required: a URL, or a list of the nodes of a deployment')
    }
    const t = options?.overlayThreshold
    if (t !== undefined && t !== Infinity && (!Number.isInteger(t) || t < 5)) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'overlayThreshold: a whole number of members, at least 5 (Infinity: off)')
    this.appId = appId
    this.rt = deps.runtime ?? systemRuntime
    const now = () => this.rt.clock.now()
    const wantsLinks = options.directLinks ?? true
    const rtc = (options.wrtc ?? globalThis) as { RTCPeerConnection?: unknown }
    const canLink = deps.createLink !== undefined || typeof rtc.RTCPeerConnection === 'function'
    this.webrtcMissing = wantsLinks && !canLink
    this.opts = { messageTimeoutMs: options.messageTimeoutMs ?? 10_000, directLinks: wantsLinks && canLink }
    this.messageBucket = new RateBucket(options.messageRateLimit ?? DEFAULT_RATE_LIMITS.messages, now())
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000
    this.storage = options.storage ?? new MemoryStorage()
    this.writer = new DebouncedWriter(this.storage, this.rt.clock)
    this.presence = new Presence(
      (build) => this.session.request(build),
      (status) => this.emit('PeersOnlineStatusChanged', status),
      (uid) => this.mesh.disconnect(uid),
    )
    this.attrs = new AttributesApi(
      {
        request: (build) => this.session.request(build),
        channel: (id) => this.channels.get(id),
        now,
        get grants() {
          return client.tokenGrants
        },
      },
      DEFAULT_RATE_LIMITS.attributeWrites,
    )
    this.channelHost = channelHost({
      appId,
      rt: this.rt,
      requestTimeoutMs: this.requestTimeoutMs,
      session: () => this.session,
      delivery: () => this.delivery,
      mesh: () => this.mesh,
      attrs: this.attrs,
      channels: this.channels,
      storage: this.storage,
      writer: this.writer,
      grants: () => this.tokenGrants,
      takeMessageToken: () => {
        if (!this.messageBucket.take(this.rt.clock.now())) throw new PlazaError(ErrorCode.TOO_OFTEN, 'messages too often')
      },
      media: () => this.media,
      directLinks: this.opts.directLinks,
      overlayThreshold: options.overlayThreshold ?? OVERLAY_LIMITS.threshold,
    })
    this.invitations = new InvitationBook(
      {
        get loggedIn() {
          return client.session.connected
        },
        request: (build) => this.session.request(build),
        send: (frame) => this.session.send(frame),
      },
      (inv) => this.emit('RemoteInvitationReceived', inv),
      () => this.rt.randomId(),
    )
    this.session = new SignalingSession(
      {
        urls: [...urls],
        appId,
        WebSocket: options.WebSocket,
        loginTimeoutMs: options.loginTimeoutMs ?? 10_000,
        requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
        reconnectMinMs: options.reconnectMinMs ?? 500,
        reconnectMaxMs: options.reconnectMaxMs ?? 5_000,
      },
      this.rt,
    )
    this.mesh = new Mesh(
      () => this.session.uid,
      (to, data) => this.session.send({ type: FrameType.SIGNAL_TO, to, data }),
      {
        wrtc: options.wrtc,
        rtcConfig: options.rtcConfig,
        maxLinks: options.maxLinks ?? 32,
        idleTimeoutMs: options.linkIdleTimeoutMs ?? 60_000,
        connectTimeoutMs: options.linkConnectTimeoutMs ?? 15_000,
        retryAfterFailureMs: 5_000,
        createLink: deps.createLink,
      },
      this.rt,
    )
    const routes = peerRoutes({
      appId,
      mesh: this.mesh,
      session: this.session,
      channels: this.channels,
      rt: this.rt,
      directLinks: this.opts.directLinks,
      delivery: () => this.delivery,
      media: () => this.media,
      emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => void)(event, ...args),
      withinRate: () => this.messageBucket.available(this.rt.clock.now()) >= 1,
    })
    this.routes = routes
    this.delivery = new PeerDelivery(
      routes.deliveryHost,
      this.storage,
      this.rt,
      { messageTimeoutMs: this.opts.messageTimeoutMs },
    )

    this.media = new MediaManager(
      mediaHost({ mesh: this.mesh, session: this.session, channels: this.channels, storage: this.storage, rt: this.rt, deps, directLinks: this.opts.directLinks }, (to, bytes) => routes.relayOnce(to, bytes, false)),
      { cacheBytes: options.mediaCacheBytes ?? 512 * 1024 * 1024, maxFileBytes: options.maxMediaBytes ?? 100 * 1024 * 1024 },
    )
    this.session.on('state', (state, reason) => this.onSessionState(state, reason))
    this.session.on('ready', ({ resumed, resync }) => this.onReady(resumed, resync))
    this.session.on('frame', (f) => this.onServerFrame(f))
    this.session.on('protocolError', (err) => this.emit('ProtocolError', err))
    this.session.on('tokenWillExpire', () => this.emit('TokenPrivilegeWillExpire'))
    this.session.on('tokenExpired', () => this.emit('TokenExpired'))
    this.mesh.on('data', (uid, bytes) => this.routes.onPeerBytes(uid, bytes, { path: 'direct', serverTs: 0 }))
    this.mesh.on('open', (uid) => {
      this.emit('PeerLinkStateChanged', uid, 'open')
      this.media.onLinkChange(uid, true)
      for (const ch of this.channels.values()) ch._onLinkOpen(uid)
    })
    this.mesh.on('close', (uid) => {
      this.emit('PeerLinkStateChanged', uid, 'closed')
      this.media.onLinkChange(uid, false)
      this.delivery.onLinkClosed(uid)
      for (const ch of this.channels.values()) ch._onLinkClosed(uid)
    })
    // A page going away closes its links with BYE (PROTOCOL.md, "Link frames"), so that a Node peer
    // sending to it never has them closed under it.
    pageHide.add(this)
  }

  /** DISCONNECTED, CONNECTING, CONNECTED, RECONNECTING or ABORTED. */
  get connectionState(): State {
    return this.session.state
  }

  /** The logged-in user's id ('' before login). */
  get uid(): string {
    return this.session.uid
  }

  /**
   * Logs in with a token from your app server (see `mintToken` in @plaza/protocol). Messages a
   * previous run left unsent (durable storage) go again as soon as the session is up.
   */
  async login({ uid, token }: { uid: string; token: string }): Promise<void> {
    this.alive()
    assertUserId(uid)
    if (typeof token !== 'string' || token.length === 0) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token is required')
    if (this.session.state !== State.DISCONNECTED && this.session.state !== State.ABORTED) {
      throw new PlazaError(ErrorCode.ALREADY_LOGGED_IN, `cannot log in while ${this.session.state}`)
    }
    if (this.webrtcMissing) {
      this.webrtcMissing = false
      const message = 'no WebRTC (no RTCPeerConnection; in Node install @roamhq/wrtc or pass options.wrtc): direct links are off, everything goes through the node'
      this.emit('Warning', new PlazaError(ErrorCode.WEBRTC_UNAVAILABLE, message))
    }
    this.mesh.reset()
    this.takeGrants(token)
    // Before the session exists, so that nothing the app sends can overtake what is restored.
    await this.delivery.load(uid)
    await this.media.load(this.appId, uid)
    await this.session.login(uid, token)
  }

  /**
   * Writes what is due to storage now (call it before a page unloads). What becomes due while it
   * writes (a message taken meanwhile, in either writer) is written too, a few rounds at most:
   * writes may never stop coming.
   */
  async flushStorage(): Promise<void> {
    for (let round = 0; round < FLUSH_ROUNDS; round++) {
      await Promise.all([this.writer.flush(), this.delivery.flushStorage(), this.media.flush()])
      if (this.writer.idle && this.delivery.storageIdle) return
    }
  }

  /** Logs out: others see OFFLINE at once; pending messages resolve NOT_LOGGED_IN. */
  async logout(): Promise<void> {
    this.alive()
    await this.session.logout()
  }

  /**
   * Ends this client for good: logs out if logged in, closes every link, stops every timer,
   * releases every channel and writes what is due to storage. Safe to call twice; afterwards
   * every method throws DESTROYED (sendMessageToPeer resolves NOT_LOGGED_IN).
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    await this.session.logout().catch(() => undefined)
    this.session.destroy()
    pageHide.delete(this)
    this.mesh.close()
    this.media.close()
    for (const ch of this.channels.values()) ch._release()
    this.channels.clear()
    this.invitations.reset()
    await this.flushStorage().catch(() => undefined)
  }

  /**
   * The page is going away (beforeunload, pagehide): its links close now, with BYE, and none is
   * made or taken for 2 s (less than the 3 s in which the far ends make none after a BYE, so that
   * their first offer after it, if the page stayed, is not ignored).
   */
  _onPageHide(): void {
    this.mesh.closeLinks(2000)
  }

  /** Throws DESTROYED after destroy(). */
  private alive(): void {
    if (this.destroyed) throw new PlazaError(ErrorCode.DESTROYED, 'this client was destroyed')
  }

  async renewToken(token: string): Promise<void> {
    this.alive()
    if (typeof token !== 'string' || token.length === 0) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token is required')
    this.session.setToken(token)
    if (this.session.connected) {
      await this.session.request((reqId) => ({ type: FrameType.RENEW_TOKEN, reqId, token }))
    }
    this.takeGrants(token)
  }

  /** What the token allows (its `grants` claim; `{}`: what any user may). Checked here before a request goes, and by the node. */
  get grants(): Grants {
    return this.tokenGrants
  }

  private takeGrants(token: string): void {
    try {
      this.tokenGrants = readTokenClaims(token).grants
    } catch {
      this.tokenGrants = {} // the node judges the token
    }
  }

  /**
   * Sends a peer message; resolves with its outcome (never rejects): RECEIVED_BY_PEER,
   * CACHED_BY_SERVER, PEER_UNREACHABLE, SENT_TIMEOUT, FAILURE, TOO_OFTEN, INVALID_USER_ID,
   * INVALID_MESSAGE, NOT_LOGGED_IN or OFFLINE_QUOTA_EXCEEDED, with the path the settling copy took (see the README for
   * what each state promises).
   *
   * @example
   *   const r = await client.sendMessageToPeer({ text: 'hi' }, 'bob', { enableOfflineMessaging: true })
   *   if (r.state === PeerMessageState.RECEIVED_BY_PEER) ...
   */
  async sendMessageToPeer(message: RtmMessage, peerId: string, options: SendMessageOptions = {}): Promise<SendResult> {
    const fail = (state: PeerMessageState): SendResult => ({ state, hasPeerReceived: false, path: null })
    if (this.destroyed) return fail(PeerMessageState.NOT_LOGGED_IN)
    if (this.session.state !== State.CONNECTED && this.session.state !== State.RECONNECTING) {
      return fail(PeerMessageState.NOT_LOGGED_IN)
    }
    if (!isValidId(peerId) || peerId === this.session.uid) return fail(PeerMessageState.INVALID_USER_ID)
    const body = toBody(message)
    if (!body) return fail(PeerMessageState.INVALID_MESSAGE)
    const size = messageBodyBytes(body.kind, body.text, body.bytes)
    if (size > MAX_MESSAGE_BYTES || utf8Length(body.description) > MAX_DESCRIPTION_BYTES) {
      return fail(PeerMessageState.INVALID_MESSAGE)
    }
    // Messages not settled yet are held in memory (and storage): bounded, like the rate.
    if (this.unsettledBytes + size > MAX_UNSETTLED_BYTES) return fail(PeerMessageState.TOO_OFTEN)
    if (!this.messageBucket.take(this.rt.clock.now())) return fail(PeerMessageState.TOO_OFTEN)
    this.unsettledBytes += size
    try {
      return await this.delivery.send(peerId, body, size, options.enableOfflineMessaging === true)
    } finally {
      this.unsettledBytes -= size
    }
  }

  /** ONLINE or OFFLINE for each id (up to 256). */
  queryPeersOnlineStatus(peerIds: string[]): Promise<PeersOnlineStatus> {
    return this.presence.query(peerIds)
  }

  /** Follows these users' online state (up to 512 in all); PeersOnlineStatusChanged fires at once. */
  subscribePeersOnlineStatus(peerIds: string[]): Promise<void> {
    return this.presence.subscribe(peerIds)
  }

  unsubscribePeersOnlineStatus(peerIds: string[]): Promise<void> {
    return this.presence.unsubscribe(peerIds)
  }

  /** The ids whose online state this client follows. */
  queryPeersBySubscriptionOption(): string[] {
    return this.presence.followed()
  }

  /** State of the direct link to a user (beyond): 'open', 'connecting' or 'none'. */
  getPeerLinkState(peerId: string): 'open' | 'connecting' | 'none' {
    return this.mesh.linkState(peerId)
  }

  // ---- media -------------------------------------------------------------------------------

  /**
   * A file or image message: hashes `data` (a Uint8Array or Blob/File; in Node also a file path or
   * a stream) and holds it to serve whoever is sent the message. Send it with sendMessageToPeer
   * or channel.sendMessage; receivers fetch the bytes with downloadMedia.
   */
  createMediaMessage(data: MediaData, options: CreateMediaOptions): Promise<MediaMessage> {
    this.alive()
    return this.media.create(data, options)
  }

  /** The bytes of a media message received (or made) here: from the sender, channel members that have them, or the node's store. */
  downloadMedia(mediaId: string | MediaMessage, options?: DownloadMediaOptions): Promise<Blob> {
    this.alive()
    return this.media.download(mediaId, options)
  }

  /** Node: downloadMedia into a file (memory stays bounded whatever the size). */
  downloadMediaToFile(mediaId: string | MediaMessage, path: string, options?: DownloadMediaOptions): Promise<{ path: string; size: number }> {
    this.alive()
    return this.media.downloadToFile(mediaId, path, options)
  }

  /** Keeps a held media id out of the cache's eviction; false if it is not held. */
  pinMedia(mediaId: string): boolean {
    return this.media.pin(mediaId)
  }

  /** Stops serving a media id and frees what is kept of it. */
  releaseMedia(mediaId: string): Promise<void> {
    return this.media.release(mediaId)
  }

  // ---- channels and attributes ---------------------------------------------------------

  /** The channel object for `channelId` (one per id and client); call `join()` on it. */
  createChannel(channelId: string): PlazaChannel {
    this.alive()
    let ch = this.channels.get(channelId)
    if (!ch) this.channels.set(channelId, (ch = new PlazaChannel(channelId, this.channelHost, this.rt)))
    return ch
  }

  /** A call invitation to `calleeId`; set `content` / `channelId`, then `send()`. */
  createLocalInvitation(calleeId: string): LocalInvitation {
    this.alive()
    return this.invitations.create(calleeId)
  }

  /** Member counts of up to 32 channels (no membership needed; unknown channels count 0). */
  getChannelMemberCount(channelIds: string[]): Promise<Record<string, number>> {
    return this.attrs.memberCounts(channelIds)
  }

  /** Replaces all of a channel's attributes. Members read and write their replica; others go through the node. */
  setChannelAttributes(channelId: string, attributes: Record<string, string>, options?: ChannelAttributeOptions): Promise<void> {
    return this.attrs.writeChannel(channelId, AttributeOp.SET, attributes, [], options)
  }

  addOrUpdateChannelAttributes(channelId: string, attributes: Record<string, string>, options?: ChannelAttributeOptions): Promise<void> {
    return this.attrs.writeChannel(channelId, AttributeOp.ADD_OR_UPDATE, attributes, [], options)
  }

  deleteChannelAttributesByKeys(channelId: string, keys: string[], options?: ChannelAttributeOptions): Promise<void> {
    return this.attrs.writeChannel(channelId, AttributeOp.DELETE_KEYS, {}, keys, options)
  }

  clearChannelAttributes(channelId: string, options?: ChannelAttributeOptions): Promise<void> {
    return this.attrs.writeChannel(channelId, AttributeOp.CLEAR, {}, [], options)
  }

  /** `{ key: { value, lastUpdateUserId, lastUpdateTs } }` */
  getChannelAttributes(channelId: string): Promise<ChannelAttributes> {
    return this.attrs.getChannel(channelId, [])
  }

  getChannelAttributesByKeys(channelId: string, keys: string[]): Promise<ChannelAttributes> {
    return this.attrs.getChannel(channelId, keys)
  }

  /** Replaces this user's attributes (kept while logged in; restored after a reconnect). */
  setLocalUserAttributes(attributes: Record<string, string>): Promise<void> {
    return this.attrs.writeUser(AttributeOp.SET, attributes, [])
  }

  addOrUpdateLocalUserAttributes(attributes: Record<string, string>): Promise<void> {
    return this.attrs.writeUser(AttributeOp.ADD_OR_UPDATE, attributes, [])
  }

  deleteLocalUserAttributesByKeys(keys: string[]): Promise<void> {
    return this.attrs.writeUser(AttributeOp.DELETE_KEYS, {}, keys)
  }

  clearLocalUserAttributes(): Promise<void> {
    return this.attrs.writeUser(AttributeOp.CLEAR, {}, [])
  }

  /** Another (logged-in) user's attributes; PEER_OFFLINE if they are not logged in. */
  getUserAttributes(userId: string): Promise<Record<string, string>> {
    return this.attrs.getUser(userId, [])
  }

  getUserAttributesByKeys(userId: string, keys: string[]): Promise<Record<string, string>> {
    return this.attrs.getUser(userId, keys)
  }

  /** Follows users' attributes (beyond): UserAttributesUpdated now and on every change. */
  async subscribeUserAttributes(userIds: string[]): Promise<void> {
    const uids = checkIds(userIds)
    await this.session.request((reqId) => ({ type: FrameType.USER_ATTRS_SUBSCRIBE, reqId, uids }))
  }

  async unsubscribeUserAttributes(userIds: string[]): Promise<void> {
    const uids = checkIds(userIds)
    await this.session.request((reqId) => ({ type: FrameType.USER_ATTRS_UNSUBSCRIBE, reqId, uids }))
  }

  // ---- internals -----------------------------------------------------------------------

  private onSessionState(state: State, reason: Reason): void {
    if (state !== State.CONNECTED) this.delivery.onNodeLost()
    if (state === State.RECONNECTING) for (const ch of this.channels.values()) ch._onDisconnected()
    if (state === State.DISCONNECTED || state === State.ABORTED) {
      this.mesh.close()
      // A first login that failed leaves what was restored from storage for the next attempt.
      if (reason === Reason.LOGOUT || state === State.ABORTED) this.delivery.endSession(PeerMessageState.NOT_LOGGED_IN)
      for (const ch of this.channels.values()) ch._reset()
      this.invitations.reset()
      if (reason === Reason.LOGOUT || state === State.ABORTED) {
        this.media.closeFiles()
        this.presence.clear()
        this.attrs.mine.clear()
      }
    }
    this.emit('ConnectionStateChanged', state, reason)
  }

  /**
   * Logged in (again). A fresh session after a lost one, or a resumed one whose queued frames
   * were lost: everything the node keeps for us is brought back to what we hold.
   */
  private onReady(resumed: boolean, resync: boolean): void {
    this.delivery.onReady()
    if (!resumed) this.invitations.reset()
    else void this.invitations.resync()
    if (!resumed || resync) {
      void this.presence.restore()
      for (const ch of this.channels.values()) ch._onReady(resumed)
    }
    if (!resumed) this.attrs.restoreUser().catch(() => undefined)
  }

  private onServerFrame(f: ServerFrame): void {
    switch (f.type) {
      case FrameType.RELAY_FROM:
        return this.routes.onPeerBytes(f.from, f.payload, { path: 'relay', serverTs: f.serverTs })
      case FrameType.SIGNAL_FROM:
        if (this.opts.directLinks) this.mesh.onSignal(f.from, f.data)
        return
      case FrameType.SIGNAL_FAILED:
        return this.mesh.onSignalFailed(f.to)
      case FrameType.PRESENCE_STATES:
        return this.presence.onStates(f.states)
      case FrameType.MEMBER_EVENT:
        return this.channels.get(f.channel)?._onMemberEvent(f.uid, f.joined, f.count)
      case FrameType.MEMBER_STATE:
        return this.channels.get(f.channel)?._onMemberState(f.uid, { role: f.role, muted: f.muted, mayPublish: f.mayPublish })
      case FrameType.MEMBER_COUNT_UPDATED:
        return this.channels.get(f.channel)?._onMemberCount(f.count)
      case FrameType.OVERLAY_OUTSIDE:
        return this.channels.get(f.channel)?._onOverlayOutside(f.count, f.version)
      case FrameType.CHANNEL_SYNC_FROM_NODE:
        return this.channels.get(f.channel)?._onNodeSync(f.epoch, f.from, f.kind, f.notify, f.payload)
      case FrameType.INVITE_RECEIVED:
        return this.invitations.onReceived_(f)
      case FrameType.INVITE_EVENT:
        return this.invitations.onEvent(f)
      case FrameType.USER_ATTRS_CHANGED:
        return this.emit('UserAttributesUpdated', f.uid, toUserAttributes(f.attrs))
      case FrameType.OFFLINE_MESSAGES:
        return this.delivery.onOffline(f)
      default:
        return
    }
  }
}
