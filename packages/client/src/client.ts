import {
  AttributeOp,
  ConnectionChangeReason as Reason,
  ConnectionState as State,
  DEFAULT_LIMITS,
  DEFAULT_RATE_LIMITS,
  ErrorCode,
  FrameType,
  MAX_DESCRIPTION_BYTES,
  MAX_MESSAGE_BYTES,
  MessageKind,
  PeerFrameType,
  PeerMessageState,
  PeerOnlineState,
  PlazaError,
  RateBucket,
  RelayStatus,
  assertUserId,
  decodePeerFrame,
  encodePeerFrame,
  isValidId,
  messageBodyBytes,
  utf8Length,
  type PeerFrame,
  type PeerMessageFrame,
  type PresenceEntry,
  type ServerFrame,
} from '@plaza/protocol'
import { Emitter } from './emitter.js'
import { Inbox, type Arrival } from './delivery/inbox.js'
import { PeerOutbox, type SendResult } from './delivery/outbox.js'
import { Mesh } from './mesh/mesh.js'
import { SignalingSession, type WebSocketConstructor } from './signaling/session.js'
import { PlazaChannel, type ChannelAttributes, type ChannelHost } from './channels/channel.js'
import { AttributesApi, toUserAttributes, type ChannelAttributeOptions } from './attributes-api.js'
import { toBody } from './messages.js'
import { randomId } from './random.js'
import { InvitationBook, type LocalInvitation } from './invitations.js'
import { DebouncedWriter, MemoryStorage, type PlazaStorage } from './storage/storage.js'
import type { OutboxSnapshot } from './delivery/outbox.js'
import type {
  ClientEvents,
  ClientOptions,
  PeersOnlineStatus,
  ReceivedMessage,
  RtmMessage,
  SendMessageOptions,
} from './types.js'

const TICK_MS = 250
const WINDOW_MESSAGES = 256
const WINDOW_BYTES = 1024 * 1024
/** Outboxes idle this long are forgotten (a later message starts a new stream). */
const OUTBOX_IDLE_MS = 10 * 60_000


/**
 * A Plaza client: one user's session with the rendezvous, its direct links, and its messages.
 * Create it with `createClient(appId, options)`.
 */
export class PlazaClient extends Emitter<ClientEvents> {
  readonly appId: string
  private readonly session: SignalingSession
  private readonly mesh: Mesh
  private readonly inbox: Inbox
  private readonly outboxes = new Map<string, { box: PeerOutbox; lastUsed: number }>()
  private readonly instanceId = randomId()
  private outboxCounter = 0
  private readonly subscriptions = new Map<string, PeerOnlineState>()
  private readonly messageBucket: RateBucket
  private tick: ReturnType<typeof setInterval> | null = null
  private readonly channels = new Map<string, PlazaChannel>()
  private readonly channelHost: ChannelHost
  private readonly attrs: AttributesApi
  private requestTimeoutMs: number
  private readonly invitations: InvitationBook
  private readonly storage: PlazaStorage
  private readonly writer: DebouncedWriter
  private readonly opts: Required<Pick<ClientOptions, 'messageTimeoutMs' | 'directLinks'>>

  constructor(appId: string, options: ClientOptions & { WebSocket: WebSocketConstructor }) {
    super()
    if (!isValidId(appId)) throw new PlazaError(ErrorCode.INVALID_APP_ID, 'invalid app id')
    const client = this
    if (typeof options?.rendezvousUrl !== 'string') throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'rendezvousUrl is required')
    this.appId = appId
    this.opts = { messageTimeoutMs: options.messageTimeoutMs ?? 10_000, directLinks: options.directLinks ?? true }
    this.messageBucket = new RateBucket(options.messageRateLimit ?? DEFAULT_RATE_LIMITS.messages, Date.now())
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000
    this.storage = options.storage ?? new MemoryStorage()
    this.writer = new DebouncedWriter(this.storage)
    this.attrs = new AttributesApi(
      { request: (build) => this.session.request(build), channel: (id) => this.channels.get(id) },
      DEFAULT_RATE_LIMITS.attributeWrites,
    )
    this.channelHost = this.makeChannelHost()
    this.invitations = new InvitationBook(
      {
        get loggedIn() {
          return client.session.connected
        },
        request: (build) => this.session.request(build),
        send: (frame) => this.session.send(frame),
      },
      (inv) => this.emit('RemoteInvitationReceived', inv),
    )
    this.session = new SignalingSession({
      url: options.rendezvousUrl,
      appId,
      WebSocket: options.WebSocket,
      loginTimeoutMs: options.loginTimeoutMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      reconnectMinMs: options.reconnectMinMs ?? 500,
      reconnectMaxMs: options.reconnectMaxMs ?? 10_000,
    })
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
      },
    )
    this.inbox = new Inbox(
      (from, f, arrival) => this.deliverToApp(from, f, arrival),
      (from, stream, upTo) => this.sendAck(from, stream, upTo),
    )

    this.session.on('state', (state, reason) => this.onSessionState(state, reason))
    this.session.on('ready', ({ resumed }) => this.onReady(resumed))
    this.session.on('frame', (f) => this.onServerFrame(f))
    this.session.on('tokenWillExpire', () => this.emit('TokenPrivilegeWillExpire'))
    this.session.on('tokenExpired', () => this.emit('TokenExpired'))
    this.mesh.on('data', (uid, bytes) => this.onPeerBytes(uid, bytes, { path: 'direct', serverTs: 0 }))
    this.mesh.on('open', (uid) => {
      this.emit('PeerLinkStateChanged', uid, 'open')
      for (const ch of this.channels.values()) ch._onLinkOpen(uid)
    })
    this.mesh.on('close', (uid) => {
      this.emit('PeerLinkStateChanged', uid, 'closed')
      this.outboxes.get(uid)?.box.resendVia('direct', Date.now())
    })
  }

  /** DISCONNECTED, CONNECTING, CONNECTED, RECONNECTING or ABORTED. */
  get connectionState(): State {
    return this.session.state
  }

  /** The logged-in user's id ('' before login). */
  get uid(): string {
    return this.session.uid
  }

  /** Logs in with a token from your app server (see `mintToken` in @plaza/protocol). */
  async login({ uid, token }: { uid: string; token: string }): Promise<void> {
    assertUserId(uid)
    if (typeof token !== 'string' || token.length === 0) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token is required')
    this.mesh.reset()
    await this.session.login(uid, token)
    await this.restoreOutbox()
  }

  /** Writes what is due to storage now (call it before a page unloads). */
  flushStorage(): Promise<void> {
    return this.writer.flush()
  }

  /** Logs out: others see OFFLINE at once; pending messages resolve NOT_LOGGED_IN. */
  async logout(): Promise<void> {
    await this.session.logout()
  }

  async renewToken(token: string): Promise<void> {
    if (typeof token !== 'string' || token.length === 0) throw new PlazaError(ErrorCode.INVALID_TOKEN, 'token is required')
    this.session.setToken(token)
    if (this.session.connected) {
      await this.session.request((reqId) => ({ type: FrameType.RENEW_TOKEN, reqId, token }))
    }
  }

  /**
   * Sends a peer message; resolves with its outcome (never rejects): RECEIVED_BY_PEER,
   * CACHED_BY_SERVER, PEER_UNREACHABLE, SENT_TIMEOUT, TOO_OFTEN, INVALID_USER_ID,
   * INVALID_MESSAGE or NOT_LOGGED_IN, with the path the settling copy took.
   *
   * @example
   *   const r = await client.sendMessageToPeer({ text: 'hi' }, 'bob', { enableOfflineMessaging: true })
   *   if (r.state === PeerMessageState.RECEIVED_BY_PEER) ...
   */
  async sendMessageToPeer(message: RtmMessage, peerId: string, options: SendMessageOptions = {}): Promise<SendResult> {
    const fail = (state: PeerMessageState): SendResult => ({ state, hasPeerReceived: false, path: null })
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
    const now = Date.now()
    if (!this.messageBucket.take(now)) return fail(PeerMessageState.TOO_OFTEN)
    this.startTick()
    return this.outboxFor(peerId, now).send(body, size, now, { offline: options.enableOfflineMessaging === true })
  }

  /** ONLINE or OFFLINE for each id (up to 256). */
  async queryPeersOnlineStatus(peerIds: string[]): Promise<PeersOnlineStatus> {
    const uids = checkIds(peerIds)
    const f = await this.session.request((reqId) => ({ type: FrameType.QUERY_PRESENCE, reqId, uids }))
    return f.type === FrameType.PRESENCE_STATES ? toStatus(f.states) : {}
  }

  /** Follows these users' online state (up to 512 in all); PeersOnlineStatusChanged fires at once. */
  async subscribePeersOnlineStatus(peerIds: string[]): Promise<void> {
    const uids = checkIds(peerIds)
    const f = await this.session.request((reqId) => ({ type: FrameType.SUBSCRIBE_PRESENCE, reqId, uids }))
    if (f.type !== FrameType.PRESENCE_STATES) return
    for (const s of f.states) this.subscriptions.set(s.uid, s.state)
    this.emit('PeersOnlineStatusChanged', toStatus(f.states))
  }

  async unsubscribePeersOnlineStatus(peerIds: string[]): Promise<void> {
    const uids = checkIds(peerIds)
    await this.session.request((reqId) => ({ type: FrameType.UNSUBSCRIBE_PRESENCE, reqId, uids }))
    for (const u of uids) this.subscriptions.delete(u)
  }

  /** The ids whose online state this client follows. */
  queryPeersBySubscriptionOption(): string[] {
    return [...this.subscriptions.keys()]
  }

  /** State of the direct link to a user (beyond): 'open', 'connecting' or 'none'. */
  getPeerLinkState(peerId: string): 'open' | 'connecting' | 'none' {
    return this.mesh.linkState(peerId)
  }

  // ---- channels and attributes ---------------------------------------------------------

  /** The channel object for `channelId` (one per id and client); call `join()` on it. */
  createChannel(channelId: string): PlazaChannel {
    let ch = this.channels.get(channelId)
    if (!ch) this.channels.set(channelId, (ch = new PlazaChannel(channelId, this.channelHost)))
    return ch
  }

  /** A call invitation to `calleeId`; set `content` / `channelId`, then `send()`. */
  createLocalInvitation(calleeId: string): LocalInvitation {
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

  private makeChannelHost(): ChannelHost {
    const client = this
    return {
      get uid() {
        return client.session.uid
      },
      requestTimeoutMs: this.requestTimeoutMs,
      request: (build) => this.session.request(build),
      sendToNode: (frame) => this.session.send(frame),
      sendChannelMessage: (members, body, size) => {
        const now = Date.now()
        if (!this.messageBucket.take(now)) throw new PlazaError(ErrorCode.TOO_OFTEN, 'messages too often')
        this.startTick()
        for (const m of members) {
          void this.outboxFor(m, now).send(body, size, now, {
            offline: false,
            timeoutMs: DEFAULT_LIMITS.channelRecoveryMs,
            recoverable: true,
          })
        }
      },
      sendSyncDirect: (uid, channel, kind, notify, payload) =>
        this.mesh.send(uid, encodePeerFrame({ type: PeerFrameType.SYNC, channel, kind, notify, payload })),
      dropMember: (channel, uid) => {
        const now = Date.now()
        if (uid) this.outboxes.get(uid)?.box.dropChannel(channel, now)
        else for (const { box } of this.outboxes.values()) box.dropChannel(channel, now)
      },
      checkAttributeWriteRate: () => this.attrs.checkWriteRate(),
      loadCache: (channel) => this.storage.get(`doc/${this.appId}/${channel}`),
      saveCache: (channel, produce) => this.writer.schedule(`doc/${this.appId}/${channel}`, produce),
    }
  }

  private outboxFor(uid: string, now: number, restoredStream?: string): PeerOutbox {
    let entry = this.outboxes.get(uid)
    if (!entry) {
      const stream = restoredStream ?? `${this.instanceId}.${(this.outboxCounter++).toString(36)}`
      const box = new PeerOutbox(
        uid,
        stream,
        {
          direct: (to, bytes) => this.mesh.send(to, bytes),
          relay: (to, bytes, offline) => this.relay(to, bytes, offline),
          peerReachable: (to) => {
            if (this.opts.directLinks) this.mesh.connect(to)
          },
          peerGone: (to) => this.mesh.disconnect(to),
        },
        {
          timeoutMs: this.opts.messageTimeoutMs,
          retransmitMs: 2000,
          windowMessages: WINDOW_MESSAGES,
          windowBytes: WINDOW_BYTES,
          recoveryMessages: DEFAULT_LIMITS.channelRecoveryMessages,
        },
        () => this.saveOutbox(),
      )
      this.outboxes.set(uid, (entry = { box, lastUsed: now }))
    }
    entry.lastUsed = now
    return entry.box
  }

  private outboxKey(): string {
    return `outbox/${this.appId}/${this.session.uid}`
  }

  private saveOutbox(): void {
    const uid = this.session.uid
    if (!uid) return
    this.writer.schedule(this.outboxKey(), () => {
      const peers = [...this.outboxes].map(([peer, { box }]) => ({ peer, ...box.snapshot() })).filter((p) => p.items.length > 0)
      return peers.length ? encodeOutboxes(peers) : null
    })
  }

  /** After a reload: the messages that were not acknowledged go again, on their old streams. */
  private async restoreOutbox(): Promise<void> {
    let saved: (OutboxSnapshot & { peer: string })[]
    try {
      const bytes = await this.storage.get(this.outboxKey())
      saved = bytes ? decodeOutboxes(bytes) : []
    } catch {
      return // unreadable: nothing to restore
    }
    const now = Date.now()
    for (const snap of saved) {
      if (this.outboxes.has(snap.peer) || !isValidId(snap.peer)) continue
      this.startTick()
      this.outboxFor(snap.peer, now, snap.stream).restore(snap, now, (item, result) => {
        const message: ReceivedMessage =
          item.kind === MessageKind.TEXT
            ? { messageType: 'TEXT', text: item.text }
            : { messageType: 'RAW', rawMessage: item.bytes, description: item.description }
        this.emit('OutboxMessageSettled', snap.peer, message, result)
      })
    }
  }

  private async relay(to: string, bytes: Uint8Array, offline: boolean): Promise<RelayStatus> {
    const f = await this.session.request((reqId) => ({ type: FrameType.RELAY_TO, reqId, to, offline, payload: bytes }))
    if (f.type !== FrameType.RELAY_RESULT) throw new PlazaError(ErrorCode.INTERNAL, 'unexpected answer to relay')
    return f.status
  }

  private sendAck(to: string, stream: string, upTo: number): void {
    const bytes = encodePeerFrame({ type: PeerFrameType.ACK, stream, upTo })
    // Streams starting with "~" were sent by the node for an app server: it waits for their ack.
    if (stream.startsWith('~') || !this.mesh.send(to, bytes)) {
      this.session.send({ type: FrameType.RELAY_TO, reqId: 0, to, offline: false, payload: bytes })
    }
  }

  private startTick(): void {
    if (this.tick) return
    this.tick = setInterval(() => {
      const now = Date.now()
      for (const [uid, entry] of this.outboxes) {
        entry.box.tick(now)
        if (entry.box.idle && now - entry.lastUsed > OUTBOX_IDLE_MS) this.outboxes.delete(uid)
      }
      if (this.outboxes.size === 0) this.stopTick()
    }, TICK_MS)
  }

  private stopTick(): void {
    if (this.tick) clearInterval(this.tick)
    this.tick = null
  }

  private onSessionState(state: State, reason: Reason): void {
    if (state === State.DISCONNECTED || state === State.ABORTED) {
      this.mesh.close()
      for (const { box } of this.outboxes.values()) box.failAll(PeerMessageState.NOT_LOGGED_IN)
      this.outboxes.clear()
      this.stopTick()
      this.inbox.clear()
      for (const ch of this.channels.values()) ch._reset()
      this.invitations.reset()
      if (reason === Reason.LOGOUT || state === State.ABORTED) {
        this.subscriptions.clear()
        this.attrs.mine.clear()
      }
    }
    this.emit('ConnectionStateChanged', state, reason)
  }

  private onReady(resumed: boolean): void {
    const now = Date.now()
    for (const { box } of this.outboxes.values()) box.resendVia('relay', now)
    if (!resumed && this.subscriptions.size > 0) void this.restoreSubscriptions()
    if (!resumed) {
      this.attrs.restoreUser().catch(() => undefined)
      for (const ch of this.channels.values()) void ch._rejoin()
    }
  }

  /** After a fresh session (the node lost ours), subscribe again and report what changed. */
  private async restoreSubscriptions(): Promise<void> {
    const uids = [...this.subscriptions.keys()]
    try {
      const f = await this.session.request((reqId) => ({ type: FrameType.SUBSCRIBE_PRESENCE, reqId, uids }))
      if (f.type !== FrameType.PRESENCE_STATES) return
      const changed = f.states.filter((s) => this.subscriptions.get(s.uid) !== s.state)
      for (const s of f.states) this.subscriptions.set(s.uid, s.state)
      if (changed.length) this.emit('PeersOnlineStatusChanged', toStatus(changed))
    } catch {
      // Connection dropped again; the next ready retries.
    }
  }

  private onServerFrame(f: ServerFrame): void {
    switch (f.type) {
      case FrameType.RELAY_FROM:
        return this.onPeerBytes(f.from, f.payload, { path: 'relay', serverTs: f.serverTs })
      case FrameType.SIGNAL_FROM:
        if (this.opts.directLinks) this.mesh.onSignal(f.from, f.data)
        return
      case FrameType.SIGNAL_FAILED:
        return this.mesh.onSignalFailed(f.to)
      case FrameType.PRESENCE_STATES: {
        const changed = f.states.filter((s) => this.subscriptions.has(s.uid) && this.subscriptions.get(s.uid) !== s.state)
        for (const s of changed) this.subscriptions.set(s.uid, s.state)
        if (changed.some((s) => s.state === PeerOnlineState.OFFLINE)) {
          for (const s of changed) if (s.state === PeerOnlineState.OFFLINE) this.mesh.disconnect(s.uid)
        }
        if (changed.length) this.emit('PeersOnlineStatusChanged', toStatus(changed))
        return
      }
      case FrameType.MEMBER_EVENT:
        return this.channels.get(f.channel)?._onMemberEvent(f.uid, f.joined)
      case FrameType.MEMBER_COUNT_UPDATED:
        return this.channels.get(f.channel)?._onMemberCount(f.count)
      case FrameType.CHANNEL_SYNC_FROM_NODE:
        return this.channels.get(f.channel)?._onSync(f.kind, f.notify, f.payload, null)
      case FrameType.INVITE_RECEIVED:
        return this.invitations.onReceived_(f)
      case FrameType.INVITE_EVENT:
        return this.invitations.onEvent(f)
      case FrameType.USER_ATTRS_CHANGED:
        return this.emit('UserAttributesUpdated', f.uid, toUserAttributes(f.attrs))
      case FrameType.OFFLINE_MESSAGES: {
        for (const m of f.messages) this.onPeerBytes(m.from, m.payload, { path: 'offline', serverTs: m.serverTs })
        this.session.send({ type: FrameType.OFFLINE_ACK, ids: f.messages.map((m) => m.id) })
        return
      }
      default:
        return
    }
  }

  private onPeerBytes(from: string, bytes: Uint8Array, arrival: Arrival): void {
    let f: PeerFrame
    try {
      f = decodePeerFrame(bytes)
    } catch {
      return // a malformed peer frame is dropped; the sender's retransmission decides
    }
    if (f.type === PeerFrameType.ACK) {
      const entry = this.outboxes.get(from)
      if (entry && entry.box.stream === f.stream) entry.box.onAck(f.upTo, Date.now())
      return
    }
    if (f.type === PeerFrameType.SYNC) {
      // Only over a direct link, and only from a member of that channel.
      const ch = this.channels.get(f.channel)
      if (arrival.path === 'direct' && ch?._hasMember(from)) ch._onSync(f.kind, f.notify, f.payload, from)
      return
    }
    if (arrival.path === 'direct') arrival = { path: 'direct', serverTs: f.sentTs }
    this.inbox.onMessage(from, f, arrival)
  }

  private deliverToApp(from: string, f: PeerMessageFrame, arrival: Arrival): void {
    const message: ReceivedMessage =
      f.kind === MessageKind.TEXT
        ? { messageType: 'TEXT', text: f.text }
        : { messageType: 'RAW', rawMessage: f.bytes.slice(), description: f.description }
    if (f.channel) return this.channels.get(f.channel)?._onMessage(message, from)
    this.emit('MessageFromPeer', message, from, {
      serverReceivedTs: arrival.serverTs,
      isOfflineMessage: arrival.path === 'offline',
      path: arrival.path,
    })
  }
}

function checkIds(ids: string[]): string[] {
  if (!Array.isArray(ids) || ids.length === 0) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'a non-empty list of ids')
  for (const id of ids) assertUserId(id)
  return [...new Set(ids)]
}

function toStatus(states: PresenceEntry[]): PeersOnlineStatus {
  const out: PeersOnlineStatus = {}
  for (const s of states) out[s.uid] = s.state
  return out
}

/** The outbox in storage: JSON, raw bodies in base64. */
function encodeOutboxes(peers: (OutboxSnapshot & { peer: string })[]): Uint8Array {
  const plain = peers.map((p) => ({ ...p, items: p.items.map((i) => ({ ...i, bytes: bytesToBase64(i.bytes) })) }))
  return new TextEncoder().encode(JSON.stringify({ v: 1, peers: plain }))
}

function decodeOutboxes(bytes: Uint8Array): (OutboxSnapshot & { peer: string })[] {
  const doc = JSON.parse(new TextDecoder().decode(bytes)) as { v: number; peers: (OutboxSnapshot & { peer: string })[] }
  if (doc.v !== 1 || !Array.isArray(doc.peers)) return []
  return doc.peers.map((p) => ({ ...p, items: p.items.map((i) => ({ ...i, bytes: base64ToBytes(i.bytes as unknown as string) })) }))
}

function bytesToBase64(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i])
  return btoa(s)
}

function base64ToBytes(s: string): Uint8Array {
  const bin = atob(s)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}
