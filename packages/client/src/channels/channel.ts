import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as sync from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'
import {
  CHANNEL_ATTRIBUTES_MAP,
  ErrorCode,
  FrameType,
  MAX_DESCRIPTION_BYTES,
  MAX_MESSAGE_BYTES,
  PlazaError,
  SyncKind,
  assertChannelId,
  messageBodyBytes,
  readChannelAttributes,
  utf8Length,
  writeChannelAttributes,
  type AttributeOp,
  type ChannelAttribute,
  type ClientFrame,
  type ServerFrame,
} from '@plaza/protocol'
import { Emitter } from '../emitter.js'
import type { OutgoingBody } from '../delivery/outbox.js'
import type { ReceivedMessage, RtmMessage } from '../types.js'
import { toBody } from '../messages.js'

export type ChannelAttributes = Record<string, ChannelAttribute>

export interface ChannelEvents extends Record<string, unknown[]> {
  ChannelMessage: [message: ReceivedMessage, memberId: string]
  MemberJoined: [memberId: string]
  MemberLeft: [memberId: string]
  MemberCountUpdated: [memberCount: number]
  AttributesUpdated: [attributes: ChannelAttributes]
}

/** What a channel needs from its client. */
export interface ChannelHost {
  readonly uid: string
  request(build: (reqId: number) => ClientFrame): Promise<ServerFrame>
  /** Sends to the node now; false when not connected. */
  sendToNode(frame: ClientFrame): boolean
  /** Hands a channel message (body.channel says which) to each member's outbox; throws TOO_OFTEN when over the limit. */
  sendChannelMessage(members: string[], body: OutgoingBody, size: number): void
  /** Sends a sync frame over the open direct link to `uid`, if any. */
  sendSyncDirect(uid: string, channel: string, kind: SyncKind, notify: boolean, payload: Uint8Array): boolean
  /** The channel no longer involves `uid` (left, or we left): drop pending copies. */
  dropMember(channel: string, uid: string | null): void
  checkAttributeWriteRate(): void
  readonly requestTimeoutMs: number
  /** The cached state of the channel's document, if any (offline-first). */
  loadCache(channel: string): Promise<Uint8Array | undefined>
  saveCache(channel: string, produce: () => Uint8Array | null): void
}

const REMOTE = 'remote'
const CACHE = 'cache'
/** Awareness state field naming the user behind an awareness client id. */
const UID_FIELD = 'uid'

/**
 * A channel: members (the rendezvous is the authority), messages over the mesh, attributes
 * in a Yjs document replicated by every member and by the rendezvous, and member state in
 * Yjs awareness. Made by `client.createChannel(id)`.
 */
export class PlazaChannel extends Emitter<ChannelEvents> {
  readonly channelId: string
  /** Member state (role, hand raised, cursor...): y-protocols awareness, replicated per channel. */
  readonly awareness: awarenessProtocol.Awareness
  private readonly doc = new Y.Doc()
  private readonly members = new Set<string>()
  private state: 'left' | 'joining' | 'joined' = 'left'
  private synced: (() => void) | null = null
  private memberCount = 0
  private cacheLoaded: Promise<void> | null = null

  constructor(
    channelId: string,
    private readonly host: ChannelHost,
  ) {
    super()
    assertChannelId(channelId)
    this.channelId = channelId
    this.awareness = new awarenessProtocol.Awareness(this.doc)
    // HACK: y-protocols' renewal interval is ref'd; in Node it would keep an app's process alive.
    ;(this.awareness as unknown as { _checkInterval?: { unref?: () => void } })._checkInterval?.unref?.()
    this.awareness.setLocalState(null)
    this.doc.on('update', (_u: Uint8Array, origin: unknown) => {
      if (origin !== CACHE) this.host.saveCache(this.channelId, () => Y.encodeStateAsUpdate(this.doc))
    })
    this.awareness.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
      if (origin === REMOTE || this.state === 'left') return
      const changed = [...added, ...updated, ...removed].filter((id) => id === this.awareness.clientID)
      if (changed.length) this.broadcast(SyncKind.AWARENESS, false, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed))
    })
  }

  get joined(): boolean {
    return this.state === 'joined'
  }

  /**
   * The attributes as last seen on this device (IndexedDB in a browser), before joining:
   * show them at once, then join to bring them up to date.
   */
  loadCached(): Promise<ChannelAttributes> {
    this.cacheLoaded ??= this.host
      .loadCache(this.channelId)
      .then((state) => {
        if (state) Y.applyUpdate(this.doc, state, CACHE)
      })
      .catch(() => undefined)
    return this.cacheLoaded.then(() => this.attributes())
  }

  /** Joins (at most 20 channels at once). Resolves once members are known and attributes are in sync. */
  async join(): Promise<void> {
    if (this.state !== 'left') throw new PlazaError(ErrorCode.ALREADY_IN_CHANNEL, `already ${this.state} ${this.channelId}`)
    this.state = 'joining'
    try {
      await this.loadCached()
      await this.joinOnNode()
    } catch (err) {
      this.state = 'left'
      throw err
    }
    this.awareness.setLocalState({ [UID_FIELD]: this.host.uid, ...(this.awareness.getLocalState() ?? {}) })
  }

  /** Sends join to the node, then syncs the document with its replica. */
  private async joinOnNode(): Promise<void> {
    const f = await this.host.request((reqId) => ({ type: FrameType.JOIN_CHANNEL, reqId, channel: this.channelId }))
    if (f.type !== FrameType.MEMBERS) throw new PlazaError(ErrorCode.INTERNAL, 'unexpected answer to join')
    this.members.clear()
    for (const m of f.members) if (m !== this.host.uid) this.members.add(m)
    this.memberCount = f.count
    const synced = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new PlazaError(ErrorCode.TIMEOUT, 'channel document did not sync')), this.host.requestTimeoutMs)
      this.synced = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    const encoder = encoding.createEncoder()
    sync.writeSyncStep1(encoder, this.doc)
    this.host.sendToNode({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 0, channel: this.channelId, kind: SyncKind.DOC, notify: false, payload: encoding.toUint8Array(encoder) })
    await synced
    this.state = 'joined'
  }

  async leave(): Promise<void> {
    if (this.state === 'left') throw new PlazaError(ErrorCode.NOT_IN_CHANNEL, `not in ${this.channelId}`)
    this.awareness.setLocalState(null) // tells the others, before we stop listening
    this.state = 'left'
    this.host.dropMember(this.channelId, null)
    this.members.clear()
    try {
      await this.host.request((reqId) => ({ type: FrameType.LEAVE_CHANNEL, reqId, channel: this.channelId }))
    } catch (err) {
      if (!(err instanceof PlazaError) || err.code !== ErrorCode.NOT_CONNECTED) throw err
    }
  }

  /** Sends to every other member (the sender does not get its own). Resolves once handed to the mesh. */
  async sendMessage(message: RtmMessage): Promise<void> {
    if (this.state !== 'joined') throw new PlazaError(ErrorCode.NOT_IN_CHANNEL, `not in ${this.channelId}`)
    const body = toBody(message, this.channelId)
    if (!body) throw new PlazaError(ErrorCode.INVALID_MESSAGE, 'a message is { text } or { messageType: "RAW", rawMessage }')
    const size = messageBodyBytes(body.kind, body.text, body.bytes)
    if (size > MAX_MESSAGE_BYTES || utf8Length(body.description) > MAX_DESCRIPTION_BYTES) {
      throw new PlazaError(ErrorCode.INVALID_MESSAGE, `messages are at most ${MAX_MESSAGE_BYTES} bytes`)
    }
    this.host.sendChannelMessage([...this.members], body, size)
  }

  /** Member ids, from the rendezvous (at most 512: a random 512 in larger channels). */
  async getMembers(): Promise<string[]> {
    if (this.state !== 'joined') throw new PlazaError(ErrorCode.NOT_IN_CHANNEL, `not in ${this.channelId}`)
    const f = await this.host.request((reqId) => ({ type: FrameType.GET_MEMBERS, reqId, channel: this.channelId }))
    return f.type === FrameType.MEMBERS ? f.members : []
  }

  /** Attributes as this member holds them (in sync with the others). */
  attributes(): ChannelAttributes {
    return Object.fromEntries(readChannelAttributes(this.doc.getMap(CHANNEL_ATTRIBUTES_MAP)))
  }

  /** Applies an attribute verb locally, spreads it, and waits until the node stored it. */
  async writeAttributes(op: AttributeOp, attrs: Record<string, string>, keys: string[], notify: boolean): Promise<void> {
    this.host.checkAttributeWriteRate()
    let update: Uint8Array | null = null
    const capture = (u: Uint8Array) => (update = u)
    this.doc.on('update', capture)
    try {
      this.doc.transact(() => writeChannelAttributes(this.doc.getMap(CHANNEL_ATTRIBUTES_MAP), op, attrs, keys, this.host.uid, Date.now()))
    } finally {
      this.doc.off('update', capture)
    }
    if (!update) return
    if (notify) this.emit('AttributesUpdated', this.attributes())
    const encoder = encoding.createEncoder()
    sync.writeUpdate(encoder, update)
    const payload = encoding.toUint8Array(encoder)
    for (const m of this.members) this.host.sendSyncDirect(m, this.channelId, SyncKind.DOC, notify, payload)
    try {
      await this.host.request((reqId) => ({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId, channel: this.channelId, kind: SyncKind.DOC, notify, payload }))
    } catch (err) {
      // Not connected: the write stands locally and reaches the node at the next sync.
      if (!(err instanceof PlazaError) || err.code !== ErrorCode.NOT_CONNECTED) throw err
    }
  }

  // ---- called by the client -------------------------------------------------------------

  /** A fresh session (the node forgot us): join again and re-sync. */
  async _rejoin(): Promise<void> {
    if (this.state !== 'joined') return
    this.state = 'joining'
    try {
      await this.joinOnNode()
      const state = this.awareness.getLocalState()
      if (state) this.broadcast(SyncKind.AWARENESS, false, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.awareness.clientID]))
    } catch {
      this.state = 'joined' // try again at the next reconnect
    }
  }

  _onMessage(message: ReceivedMessage, from: string): void {
    if (this.state === 'joined') this.emit('ChannelMessage', message, from)
  }

  _onMemberEvent(uid: string, joined: boolean): void {
    if (this.state === 'left' || uid === this.host.uid) return
    if (joined) {
      if (this.members.has(uid)) return
      this.members.add(uid)
      this.emit('MemberJoined', uid)
      // Let the newcomer see our state at once rather than at the next renewal.
      if (this.awareness.getLocalState()) {
        this.broadcast(SyncKind.AWARENESS, false, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.awareness.clientID]))
      }
    } else {
      if (!this.members.delete(uid)) return
      this.host.dropMember(this.channelId, uid)
      const gone = [...this.awareness.getStates()].filter(([, st]) => st?.[UID_FIELD] === uid).map(([id]) => id)
      if (gone.length) awarenessProtocol.removeAwarenessStates(this.awareness, gone, REMOTE)
      this.emit('MemberLeft', uid)
    }
  }

  _onMemberCount(count: number): void {
    if (this.state === 'left' || count === this.memberCount) return
    this.memberCount = count
    this.emit('MemberCountUpdated', count)
  }

  /** A sync or awareness message from the node (`via` null) or from a member's direct link. */
  _onSync(kind: SyncKind, notify: boolean, payload: Uint8Array, viaPeer: string | null): void {
    if (this.state === 'left') return
    try {
      if (kind === SyncKind.AWARENESS) {
        awarenessProtocol.applyAwarenessUpdate(this.awareness, payload, REMOTE)
        return
      }
      let changed = false
      const mark = () => (changed = true)
      this.doc.on('update', mark)
      const decoder = decoding.createDecoder(payload)
      const encoder = encoding.createEncoder()
      let type: number
      try {
        type = sync.readSyncMessage(decoder, encoder, this.doc, REMOTE)
      } finally {
        this.doc.off('update', mark)
      }
      if (encoding.length(encoder) > 0) {
        const reply = encoding.toUint8Array(encoder)
        if (viaPeer) this.host.sendSyncDirect(viaPeer, this.channelId, SyncKind.DOC, false, reply)
        else this.host.sendToNode({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 0, channel: this.channelId, kind: SyncKind.DOC, notify: false, payload: reply })
      }
      if (type === sync.messageYjsSyncStep2 && viaPeer === null && this.synced) {
        this.synced()
        this.synced = null
      }
      if (changed && notify) this.emit('AttributesUpdated', this.attributes())
    } catch {
      // A malformed sync message from a peer changes nothing.
    }
  }

  /** A direct link to `uid` opened: sync our document with theirs over it. */
  _onLinkOpen(uid: string): void {
    if (this.state !== 'joined' || !this.members.has(uid)) return
    const encoder = encoding.createEncoder()
    sync.writeSyncStep1(encoder, this.doc)
    this.host.sendSyncDirect(uid, this.channelId, SyncKind.DOC, false, encoding.toUint8Array(encoder))
    if (this.awareness.getLocalState()) {
      this.host.sendSyncDirect(uid, this.channelId, SyncKind.AWARENESS, false, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.awareness.clientID]))
    }
  }

  _hasMember(uid: string): boolean {
    return this.members.has(uid)
  }

  /** The client logged out or was aborted. */
  _reset(): void {
    this.state = 'left'
    this.members.clear()
    this.synced = null
    awarenessProtocol.removeAwarenessStates(this.awareness, [...this.awareness.getStates().keys()].filter((id) => id !== this.awareness.clientID), REMOTE)
  }

  private broadcast(kind: SyncKind, notify: boolean, payload: Uint8Array): void {
    for (const m of this.members) this.host.sendSyncDirect(m, this.channelId, kind, notify, payload)
    this.host.sendToNode({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 0, channel: this.channelId, kind, notify, payload })
  }
}
