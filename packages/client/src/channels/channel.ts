import type * as awarenessProtocol from 'y-protocols/awareness'
import {
  ErrorCode,
  FrameType,
  MAX_DESCRIPTION_BYTES,
  MAX_MEMBERS_LISTED,
  MAX_MESSAGE_BYTES,
  PlazaError,
  SyncKind,
  assertChannelId,
  messageBodyBytes,
  utf8Length,
  type AttributeOp,
  type OverlayAfter,
  type ServerFrame,
  channelAllowed,
  ModerationAction,
  assertUserId,
} from '@plaza/protocol'
import { Emitter } from '../emitter.js'
import type { Runtime } from '../runtime.js'
import type { ReceivedMessage, RtmMessage } from '../types.js'
import { toBody } from '../messages.js'
import { ChannelDoc, type ChannelAttributes } from './channel-doc.js'
import { OverlayMode, type UnlinkedMessage } from './channel-overlay.js'
import { AfterGate } from './after-gate.js'
import { ChannelSender } from './channel-send.js'
import { ChannelAwareness } from './channel-awareness.js'
import { ChannelRoster, withEvents, type MemberEvent } from './channel-roster.js'
import type { ChannelEvents, ChannelHost, ChannelSendResult, MemberState } from './channel-types.js'

export type { ChannelAttributes }

export type { ChannelEvents, ChannelHost, ChannelOverlayHost, ChannelSendResult, MemberState } from './channel-types.js'

const DEFAULT_STATE: MemberState = { role: '', muted: false, mayPublish: true }

/** A copy that names an overlay message waits for it at most this long (it may never come: lost, or not for this member). */
const AFTER_WAIT_MS = 10_000

/**
 * A channel: members (the rendezvous is the authority), messages over the mesh, attributes in
 * a Yjs document replicated by every member and by the rendezvous, and member state in Yjs
 * awareness. Made by `client.createChannel(id)`.
 */
export class PlazaChannel extends Emitter<ChannelEvents> {
  readonly channelId: string
  /** Member state (role, hand raised, cursor...): y-protocols awareness, replicated per channel. */
  readonly awareness: awarenessProtocol.Awareness
  private readonly states: ChannelAwareness
  private readonly doc: ChannelDoc
  private readonly roster: ChannelRoster
  /** The next member list answers a join on a fresh session (see RelistWaits). */
  private relistGrace = false
  private released = false
  /** Members not in the default standing, and this user. */
  private readonly standing = new Map<string, MemberState>()
  private state: 'left' | 'joining' | 'joined' = 'left'
  /** The count MemberCountUpdated last reported. */
  private reported = 0
  private refreshing = false
  /** leave() was called: its messages still being signed go out first, and no new one is taken. */
  private leaving = false
  /** We left here; the node may not know yet. */
  private leaveUnconfirmed = false
  /** A join again after a reconnect under way (the channel stays joined for the app meanwhile). */
  private rejoining: Promise<void> | null = null
  /** Logged in again while rejoining: join once more when this one is done. */
  private rejoinAgain = false
  /** Counts the times this channel was left: a rejoin begun before a leave (and a join after it) is stale. */
  private generation = 0
  private readonly overlay: OverlayMode
  /** Members' copies that wait for the overlay message they follow (see AfterGate). */
  private readonly gate: AfterGate<ReceivedMessage>
  private readonly sender: ChannelSender

  constructor(
    channelId: string,
    private readonly host: ChannelHost,
    private readonly rt: Runtime,
  ) {
    super()
    assertChannelId(channelId)
    this.channelId = channelId
    this.gate = new AfterGate<ReceivedMessage>(
      rt.clock,
      AFTER_WAIT_MS,
      (origin, a) => this.overlay.passed(origin, a.stream, a.seq),
      (m, from) => this.emitMessage(m, from),
      (origin, a) => this.overlay.skipThrough(origin, a.stream, a.seq),
      (origin, a) => this.overlay.askOrigin(origin, a.stream, a.seq),
    )
    this.roster = new ChannelRoster(() => host.uid, rt.clock, {
      joined: (uid, announce) => {
        this.overlay.memberJoined(uid)
        if (announce) this.emit('MemberJoined', uid)
      },
      gone: (uid, announce) => {
        this.overlay.onLinkClosed(uid)
        this.standing.delete(uid)
        this.states.forgetMember(uid)
        if (announce) this.emit('MemberLeft', uid)
      },
      // Copies still on their way to it are given up (FAILURE unless one may have arrived).
      relistExpired: (uid) => this.host.dropMember(this.channelId, uid),
      counted: () => this.counted(false),
      wantList: () => {
        if (!this.refreshing) void this.refreshMembers()
      },
    })
    this.overlay = new OverlayMode({
      channel: channelId,
      host: host.overlay,
      rt,
      threshold: host.overlay.threshold,
      keys: () => host.overlay.keys(),
      nodeKey: () => host.overlay.nodeKey(),
      members: () => [...this.roster.ids],
      deliver: (m) => {
        const message = host.overlay.toReceived(m.origin, channelId, m)
        if (message) this.gate.overlayDelivered(m.origin, m.stream, m.seq, () => this.emitMessage(message, m.origin))
      },
      // Mutes and publish grants at every hop; while members are listed one by one, membership too.
      originAllowed: (origin) => (!this.roster.exact || this.roster.isOrigin(origin)) && this.standing.get(origin)?.mayPublish !== false,
      renewCert: () => void this.renewCert(),
      goOutside: (unsent) => this.goOutside(unsent),
    })
    this.sender = new ChannelSender(channelId, host, rt, this.overlay, this.roster)
    this.doc = new ChannelDoc(channelId, host, rt, (notify) => {
      if (notify && this.state !== 'left') this.emit('AttributesUpdated', this.attributes())
    })
    this.states = new ChannelAwareness(channelId, rt, () => {
      if (this.state !== 'left') this.broadcastAwareness()
    })
    this.awareness = this.states.awareness
  }

  get joined(): boolean {
    return this.state === 'joined'
  }

  /** Members in the channel, this one included, as the node last said (0 before joining). */
  get memberCount(): number {
    return this.roster.count
  }

  /**
   * The attributes as last seen on this device (IndexedDB in a browser), before joining:
   * show them at once, then join to bring them up to date.
   */
  async loadCached(): Promise<ChannelAttributes> {
    await this.doc.loadCached()
    return this.attributes()
  }

  /**
   * Joins (at most 20 channels at once). Resolves once members are known and attributes are in
   * sync; MemberCountUpdated follows with the count. Messages from members may arrive (and
   * ChannelMessage fire) while it is under way: attach listeners first.
   */
  async join(): Promise<void> {
    if (this.released) throw new PlazaError(ErrorCode.DESTROYED, `${this.channelId} was released`)
    if (this.state !== 'left') throw new PlazaError(ErrorCode.ALREADY_IN_CHANNEL, `already ${this.state} ${this.channelId}`)
    if (!channelAllowed(this.host.grants.join, this.channelId)) throw new PlazaError(ErrorCode.NOT_PERMITTED, `this token may not join ${this.channelId}`)
    this.state = 'joining'
    try {
      await this.doc.loadCached()
      await this.joinOnNode(false)
    } catch (err) {
      this.state = 'left'
      this.overlay.stop()
      this.flushHeld()
      this.doc.stop()
      this.roster.clear()
      this.standing.clear()
      this.states.forgetOthers()
      // The node may count us in (our join reached it): it must not, since we think we are out.
      this.leaveUnconfirmed = true
      void this.confirmLeave()
      throw err
    }
    this.state = 'joined'
    this.leaveUnconfirmed = false
    this.states.announce(this.host.uid)
    this.reported = this.roster.count
    this.emit('MemberCountUpdated', this.roster.count)
  }

  /** Sends join to the node (again, for a resync), takes its member list, then syncs the document. */
  private async joinOnNode(announce: boolean): Promise<void> {
    const generation = this.generation
    const f = await this.membersRequest(FrameType.JOIN_CHANNEL)
    if (f.type !== FrameType.MEMBERS) throw new PlazaError(ErrorCode.INTERNAL, 'unexpected answer to join')
    if (this.state === 'left' || this.generation !== generation) throw new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'left while joining')
    this.roster.take(f.members, f.count, announce, f.log, this.relistGrace)
    this.relistGrace = false
    this.overlay.joined(f.cert, this.roster.count)
    await this.doc.sync()
  }

  /** Joins again (the node answers with a fresh certificate for our overlay key). */
  private async renewCert(): Promise<void> {
    if (this.state !== 'joined') return
    try {
      const f = await this.membersRequest(FrameType.JOIN_CHANNEL)
      if (f.type === FrameType.MEMBERS && this.state === 'joined') this.overlay.joined(f.cert, this.roster.count)
    } catch {
      // Tried again soon; meanwhile the old certificate holds until it expires.
      if (this.state === 'joined') this.overlay.renewFailed()
    }
  }

  /**
   * Our direct links all failed: join again without an overlay key (the node counts us outside
   * and the overlay's members send us copies through it), and send what reached nobody to all.
   */
  private goOutside(unsent: UnlinkedMessage[]): void {
    this.sender.goOutside(unsent)
    void this.renewCert()
  }

  /** The members this client is linked to in the channel's overlay (none while the channel is a full mesh). */
  get overlayLinks(): string[] {
    return this.overlay.links
  }

  /**
   * A request answered by the member list (join, get members), with the member events that
   * came while it was under way: some may have come after the list, in the same read from the
   * socket, before this continuation runs; the list alone would undo them.
   */
  private async membersRequest(type: FrameType.JOIN_CHANNEL | FrameType.GET_MEMBERS): Promise<ServerFrame & { log: MemberEvent[] }> {
    // Only the first join waits for the key pair to be made (so a simulation's event order is unchanged).
    // Sent only to a node that certifies overlay keys (protocol 4: its key came in LOGIN_OK).
    let keys = type === FrameType.JOIN_CHANNEL && this.host.overlay.nodeKey() && !this.overlay.keyless ? this.host.overlay.prepareKeys() : null
    if (keys instanceof Promise) keys = await keys
    const overlayKey = keys?.publicKey
    const log = this.roster.track()
    try {
      const f = await this.host.request((reqId) => (type === FrameType.JOIN_CHANNEL ? { type, reqId, channel: this.channelId, overlayKey } : { type, reqId, channel: this.channelId }))
      return Object.assign(f, { log })
    } finally {
      this.roster.untrack(log)
    }
  }

  async leave(): Promise<void> {
    if (this.state === 'left' || this.leaving) throw new PlazaError(ErrorCode.NOT_IN_CHANNEL, `not in ${this.channelId}`)
    // Messages sent before the leave go out first: those waiting for the copies before them, and
    // those still being signed for the overlay.
    this.leaving = true
    try {
      await this.sender.flushSends()
      await this.overlay.flushPublishing()
    } finally {
      this.leaving = false
    }
    if ((this.state as string) === 'left') return
    // Overlay messages that reached nobody (no link had formed yet) would leave with us: they go to all through the node.
    const unsent = this.overlay.takeUnlinked()
    if (unsent.length > 0) this.sender.goOutside(unsent)
    this.leaveLocally()
    this.leaveUnconfirmed = true
    try {
      await this.host.request((reqId) => ({ type: FrameType.LEAVE_CHANNEL, reqId, channel: this.channelId }))
      // Still left (not joined again while the answer was on its way).
      if ((this.state as string) === 'left') this.leaveUnconfirmed = false
    } catch (err) {
      // Not connected: left here; the node hears it when the session resumes (or ends it with the session).
      if (!(err instanceof PlazaError) || (err.code !== ErrorCode.NOT_CONNECTED && err.code !== ErrorCode.CONNECTION_LOST && err.code !== ErrorCode.TIMEOUT)) {
        this.leaveUnconfirmed = false
        throw err
      }
    }
  }

  /**
   * Sends to every other member (the sender does not get its own) and resolves with what became
   * of each copy (see ChannelSendResult). Throws NOT_IN_CHANNEL, INVALID_MESSAGE or TOO_OFTEN.
   */
  async sendMessage(message: RtmMessage): Promise<ChannelSendResult> {
    if (this.state !== 'joined' || this.leaving) throw new PlazaError(ErrorCode.NOT_IN_CHANNEL, `not in ${this.channelId}`)
    if (!channelAllowed(this.host.grants.publish, this.channelId)) throw new PlazaError(ErrorCode.NOT_PERMITTED, `this token may not publish in ${this.channelId}`)
    if (this.standing.get(this.host.uid)?.muted) throw new PlazaError(ErrorCode.NOT_PERMITTED, `muted in ${this.channelId}`)
    const body = toBody(message, this.channelId)
    if (!body) throw new PlazaError(ErrorCode.INVALID_MESSAGE, 'a message is { text } or { messageType: "RAW", rawMessage }')
    const size = messageBodyBytes(body.kind, body.text, body.bytes)
    if (size > MAX_MESSAGE_BYTES || utf8Length(body.description) > MAX_DESCRIPTION_BYTES) {
      throw new PlazaError(ErrorCode.INVALID_MESSAGE, `messages are at most ${MAX_MESSAGE_BYTES} bytes`)
    }
    // Moving outside the overlay: what reached nobody goes first.
    if (this.overlay.settling) await this.overlay.settling
    return this.sender.send(body, size)
  }

  /** A member's role and mute as the node told them (this user's own too). */
  getMemberState(uid: string): MemberState {
    return { ...(this.standing.get(uid) ?? DEFAULT_STATE) }
  }

  /** Removes a member (all hear MemberLeft) and refuses its joins for `seconds` (0: until the app lifts it). Needs a grant to moderate this channel. */
  async removeMember(uid: string, { seconds = 0 }: { seconds?: number } = {}): Promise<void> {
    await this.moderate(uid, ModerationAction.REMOVE, seconds)
  }

  /** Mutes a member: its channel messages are dropped by the node and by every member, for `seconds` (0: until unmuted). */
  async muteMember(uid: string, { seconds = 0 }: { seconds?: number } = {}): Promise<void> {
    await this.moderate(uid, ModerationAction.MUTE, seconds)
  }

  async unmuteMember(uid: string): Promise<void> {
    await this.moderate(uid, ModerationAction.UNMUTE, 0)
  }

  private async moderate(uid: string, action: ModerationAction, seconds: number): Promise<void> {
    assertUserId(uid)
    if (!Number.isSafeInteger(seconds) || seconds < 0) throw new PlazaError(ErrorCode.INVALID_ARGUMENT, 'seconds: a whole number, 0 for no end')
    const moderate = this.host.grants.moderate
    if (moderate === undefined || !channelAllowed(moderate, this.channelId)) throw new PlazaError(ErrorCode.NOT_PERMITTED, `this token may not moderate ${this.channelId}`)
    await this.host.request((reqId) => ({ type: FrameType.MODERATE, reqId, channel: this.channelId, uid, action, seconds }))
  }

  /**
   * Member ids, from the rendezvous (at most 512: a random 512 in larger channels). Up to 512, this
   * side's list is brought in step with it, with MemberJoined / MemberLeft for what differs (a
   * member it still counted while waiting for it to be listed again, say): an app that keeps a list
   * from this answer and the events after it stays right.
   */
  async getMembers(): Promise<string[]> {
    if (this.state !== 'joined') throw new PlazaError(ErrorCode.NOT_IN_CHANNEL, `not in ${this.channelId}`)
    const f = await this.membersRequest(FrameType.GET_MEMBERS)
    if (f.type !== FrameType.MEMBERS) return []
    if (this.state === 'joined' && f.count <= MAX_MEMBERS_LISTED) this.roster.take(f.members, f.count, true, f.log)
    // With the member events that came while it was on its way (the app has had them already).
    return [...withEvents(f.members, f.log)]
  }

  /** Attributes as this member holds them (in sync with the others). */
  attributes(): ChannelAttributes {
    return this.doc.attributes()
  }

  /** Applies an attribute verb locally, sends it, and waits until the node stored it. */
  writeAttributes(op: AttributeOp, attrs: Record<string, string>, keys: string[], notify: boolean): Promise<void> {
    if (this.host.grants.writeAttributes === false) throw new PlazaError(ErrorCode.NOT_PERMITTED, 'this token may not write channel attributes')
    this.host.checkAttributeWriteRate()
    return this.doc.write(op, attrs, keys, notify)
  }

  // ---- called by the client -------------------------------------------------------------

  /**
   * The node forgot our session (a fresh one), or frames for ours were lost: join again and
   * bring members, attributes and awareness up to date.
   */
  _rejoin(freshSession = false): Promise<void> {
    if (this.state !== 'joined') return Promise.resolve()
    // A fresh session: the node may have restarted, and lists its members again as they come back.
    if (freshSession) this.relistGrace = true
    // The app stays in the channel meanwhile: it sends (over the links that are up, or queued for
    // the relay) as it does while the connection is down. Only `leave()` takes it out.
    if (this.rejoining) {
      this.rejoinAgain = true
      return this.rejoining
    }
    const generation = this.generation
    const run = async (): Promise<void> => {
      do {
        this.rejoinAgain = false
        try {
          await this.joinOnNode(true)
          if (this.state !== 'joined' || this.generation !== generation) return
          this.states.renew()
        } catch {
          // Tried again at the next reconnect (or now, if one came meanwhile).
        }
      } while (this.rejoinAgain && this.state === 'joined' && this.generation === generation)
    }
    const rejoining = run().finally(() => {
      if (this.rejoining === rejoining) this.rejoining = null
    })
    this.rejoining = rejoining
    return rejoining
  }

  /**
   * Logged in again (resumed or fresh): a channel we are in joins again and brings members,
   * attributes and awareness up to date; a leave the node may not have heard goes again.
   */
  _onReady(resumed: boolean): void {
    if (this.state === 'joined') void this._rejoin(!resumed)
    else if (this.state === 'left' && this.leaveUnconfirmed) {
      if (resumed) void this.confirmLeave()
      else this.leaveUnconfirmed = false // a fresh session is in no channel
    }
  }

  /** Tells the node we are out, until it has heard it (or says we were not in). */
  private async confirmLeave(): Promise<void> {
    try {
      await this.host.request((reqId) => ({ type: FrameType.LEAVE_CHANNEL, reqId, channel: this.channelId }))
      if (this.state === 'left') this.leaveUnconfirmed = false
    } catch (err) {
      if (err instanceof PlazaError && err.code === ErrorCode.NOT_IN_CHANNEL && this.state === 'left') this.leaveUnconfirmed = false
    }
  }

  /** The connection to the node dropped (we may come back on the same session). */
  _onDisconnected(): void {
    this.doc.interrupted()
  }

  /**
   * A message for this channel (a copy, or the node's fan-out); false (refused) when not a member;
   * 'held' when it waits for the overlay message it follows (`reached` is called once the app has it).
   */
  _onMessage(message: ReceivedMessage, from: string, after?: OverlayAfter | null, reached?: () => void): boolean | 'held' {
    if (this.state === 'left') return false
    return this.gate.admit(from, message, after, reached) ? 'held' : true
  }

  /** Out of the channel: copies still held for an overlay message go to the app now (see AfterGate.flush). */
  private flushHeld(): void {
    this.gate.flush((m, from) => this.emit('ChannelMessage', m, from))
  }

  private emitMessage(message: ReceivedMessage, from: string): void {
    if (this.state !== 'left') this.emit('ChannelMessage', message, from)
  }

  _onMemberEvent(uid: string, joined: boolean, count: number): void {
    if (this.state !== 'left' && uid === this.host.uid && !joined) return this._onRemoved()
    if (this.state === 'left' || uid === this.host.uid) return
    this.roster.event(uid, joined, count)
    // The node says it left: copies still on their way to it are given up (FAILURE unless one may have arrived).
    if (!joined) this.host.dropMember(this.channelId, uid)
  }

  /** OVERLAY_OUTSIDE: how many members are outside the channel's overlay. */
  _onOverlayOutside(count: number, version: number): void {
    if (this.state !== 'left') this.overlay.onOutsideCount(count, version)
  }

  _onMemberCount(count: number): void {
    if (this.state === 'left') return
    this.roster.setCount(count)
    this.counted(true)
  }

  /** A sync or awareness message from the node (`from` '' for its answers to our requests). */
  _onNodeSync(epoch: number, from: string, kind: SyncKind, notify: boolean, payload: Uint8Array): void {
    if (this.state === 'left') return
    if (kind === SyncKind.AWARENESS) return this.states.apply(payload)
    this.doc.onNodeSync(epoch, from, notify, payload)
  }

  /** A member's awareness over a direct link (document updates come only through the node). */
  _onPeerSync(from: string, kind: SyncKind, payload: Uint8Array): void {
    if (this.state === 'left' || !this.roster.ids.has(from) || kind !== SyncKind.AWARENESS) return
    this.states.fromMember(from, payload)
  }

  /** A direct link to `uid` opened: show it our state over it. */
  _onLinkOpen(uid: string): void {
    this.overlay.onLinkOpen(uid)
    const own = this.state === 'joined' && this.roster.ids.has(uid) ? this.states.own() : null
    if (own) this.host.sendAwarenessDirect(uid, this.channelId, own)
  }

  _onLinkClosed(uid: string): void {
    this.overlay.onLinkClosed(uid)
  }

  /** An overlay frame over a direct link: from a member (while members are listed one by one) to a member. */
  _onOverlayFrame(from: string, bytes: Uint8Array): void {
    // Also while joining again (a resync): the overlay keeps running meanwhile. From a member that
    // just left too: its last messages, sent before it left, may come after the news of its leave.
    if (this.state === 'left' || (this.roster.exact && !this.roster.isOrigin(from))) return
    this.overlay.onFrame(from, bytes)
  }

  /** Members as far as this client knows (media: who else may hold a file sent here). */
  _memberIds(): string[] {
    return [...this.roster.ids]
  }

  _hasMember(uid: string): boolean {
    return this.roster.ids.has(uid)
  }

  /** Channel messages from `uid` over a direct link count: a member, not muted, allowed to publish. */
  _acceptsFrom(uid: string): boolean {
    return this.roster.ids.has(uid) && this.standing.get(uid)?.mayPublish !== false
  }

  _onMemberState(uid: string, state: MemberState): void {
    if (this.state === 'left') return
    const before = this.standing.get(uid) ?? DEFAULT_STATE
    if (state.role === '' && state.mayPublish && !state.muted && uid !== this.host.uid) this.standing.delete(uid)
    else this.standing.set(uid, state)
    if (before.role !== state.role || before.muted !== state.muted || before.mayPublish !== state.mayPublish) this.emit('MemberStateChanged', uid, { ...state })
  }

  /**
   * Leaves (if joined) and frees what the channel holds (its awareness timer, its document); the
   * client forgets it, and `createChannel` makes a new one. Methods refuse after it.
   */
  async release(): Promise<void> {
    if (this.released) return
    if (this.state !== 'left') await this.leave().catch(() => undefined)
    this.host.forgetChannel(this.channelId)
    this._release()
  }

  /** Frees timers and documents (the client is destroyed, or release()). */
  _release(): void {
    if (this.released) return
    this.released = true
    this.state = 'left'
    this.overlay.stop()
    this.flushHeld()
    this.doc.stop()
    this.roster.clear()
    this.standing.clear()
    this.states.destroy()
    this.removeAllListeners()
  }

  /** A moderator took this user out of the channel. */
  _onRemoved(): void {
    if (this.state === 'left') return
    this.leaveLocally()
    this.emit('RemovedFromChannel')
  }

  /** Out of the channel on this side: our state withdrawn, copies dropped, members and their states forgotten. */
  private leaveLocally(): void {
    this.generation++
    this.rejoining = null
    this.rejoinAgain = false
    this.states.withdraw() // tells the others, before we stop listening
    this.state = 'left'
    this.overlay.stop()
    this.flushHeld()
    this.doc.stop()
    this.host.dropMember(this.channelId, null)
    this.sender.leaving()
    this.roster.clear()
    this.standing.clear()
    // Others' states go too: a later join gets them afresh from the node.
    this.states.forgetOthers()
    this.reported = 0
  }

  /** The client logged out or was aborted. */
  _reset(): void {
    this.generation++
    this.rejoining = null
    this.rejoinAgain = false
    this.state = 'left'
    this.leaveUnconfirmed = false
    this.overlay.stop()
    this.flushHeld()
    this.doc.stop()
    this.sender.leaving()
    this.roster.clear()
    this.standing.clear()
    this.reported = 0
    this.states.forgetOthers()
  }

  /** The count changed: the overlay hears it; the app too (`announce`), once joined and if it differs from the last it heard. */
  private counted(announce: boolean): void {
    const count = this.roster.count
    if (this.state === 'joined') this.overlay.update(count)
    if (!announce || count === this.reported || this.state !== 'joined') return
    this.reported = count
    this.emit('MemberCountUpdated', count)
  }

  private async refreshMembers(): Promise<void> {
    this.refreshing = true
    try {
      const f = await this.membersRequest(FrameType.GET_MEMBERS)
      if (f.type === FrameType.MEMBERS && f.count <= MAX_MEMBERS_LISTED && this.state !== 'left') this.roster.take(f.members, f.count, false, f.log)
    } catch {
      // Still inexact; the next count change tries again.
    } finally {
      this.refreshing = false
    }
  }

  private broadcastAwareness(): void {
    const payload = this.states.ownUpdate()
    for (const m of this.roster.ids) this.host.sendAwarenessDirect(m, this.channelId, payload)
    this.host.sendToNode({ type: FrameType.CHANNEL_SYNC_TO_NODE, reqId: 0, channel: this.channelId, epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload })
  }
}
