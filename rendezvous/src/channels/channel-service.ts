import {
  ErrorCode,
  FrameType,
  MAX_CHANNELS_JOINED,
  MAX_MEMBERS_LISTED,
  PlazaError,
  RateBucket,
  SyncKind,
  channelAllowed,
  encodeFrame,
  type AttributeOp,
  type ClientFrame,
  type MemberCert,
  type TimerHandle,
} from '@plaza/protocol'
import type { NodeContext } from '../context.js'
import type { Session } from '../session.js'
import type { MemberRecord } from '../engine/engine.js'
import { ChannelDocs, type DocChange } from './channel-docs.js'
import { AwarenessStore } from './awareness-store.js'
import { encodeNodeMessage } from '../node-messages.js'
import { OverlayService } from '../overlay/overlay-service.js'

type ChannelFrame = Extract<
  ClientFrame,
  {
    type:
      | FrameType.JOIN_CHANNEL
      | FrameType.LEAVE_CHANNEL
      | FrameType.GET_MEMBERS
      | FrameType.GET_MEMBER_COUNTS
      | FrameType.CHANNEL_SYNC_TO_NODE
      | FrameType.CHANNEL_ATTRS_WRITE
      | FrameType.CHANNEL_ATTRS_GET
      | FrameType.OVERLAY_CANDIDATES
  }
>

const MAX_JOIN_BUCKETS = 256

/** A random sample of at most `n` (Fisher–Yates on a copy). */
function sample<T>(list: T[], n: number, random: () => number): T[] {
  if (list.length <= n) return list
  const a = [...list]
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (a.length - i))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a.slice(0, n)
}

/**
 * Channel membership (the node is its authority), member events and counts, and the node's
 * replica of each channel's document: attributes readable and writable without joining.
 */
export class ChannelService {
  readonly docs: ChannelDocs
  readonly awareness = new AwarenessStore()
  /** Overlay certificates and introductions (large channels). */
  readonly overlay: OverlayService
  /** Pending MemberCountUpdated per channel: at most one a second (3 s above 512 members). */
  private readonly countTimers = new Map<string, { timer: TimerHandle | null; dirty: boolean }>()
  private closed = false

  constructor(private readonly ctx: NodeContext) {
    this.overlay = new OverlayService(ctx)
    this.docs = new ChannelDocs(
      ctx.engine.docs,
      ctx.rt,
      (err) => ctx.log.error({ err }, 'channel document save failed'),
      ctx.config.docCompactSlackBytes,
      () => ctx.metrics.docCompactions.inc(),
      ctx.config.docQuotaPerApp,
      () => ctx.metrics.docWrites.inc(),
    )
  }

  handle(s: Session, f: ChannelFrame): Promise<void> | void {
    const fail = (reqId: number) => (err: unknown) => {
      if (!(err instanceof PlazaError)) this.ctx.log.error({ err }, 'channel request failed')
      this.ctx.result(s, reqId, err instanceof PlazaError ? err : new PlazaError(ErrorCode.INTERNAL, 'internal error'))
    }
    switch (f.type) {
      case FrameType.JOIN_CHANNEL:
        return this.join(s, f.reqId, f.channel, f.overlayKey)
      case FrameType.OVERLAY_CANDIDATES:
        return this.overlay.candidates(s, f)
      case FrameType.LEAVE_CHANNEL: {
        if (!s.channels.has(f.channel)) return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'not a member'))
        return this.leave(s, f.channel).then(() => this.ctx.result(s, f.reqId, null))
      }
      case FrameType.GET_MEMBERS: {
        if (!s.channels.has(f.channel)) return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'not a member'))
        return this.ctx.engine.channelCount(s.appId, f.channel).then((count) => {
          const overBudget = this.ctx.chargeBytes(s, 16 + Math.min(MAX_MEMBERS_LISTED, count) * 64)
          if (overBudget) return this.ctx.result(s, f.reqId, overBudget)
          return this.sendMembers(s, f.reqId, f.channel)
        })
      }
      case FrameType.GET_MEMBER_COUNTS: {
        const err = f.channels.length === 0 ? new PlazaError(ErrorCode.INVALID_ARGUMENT, 'no channels') : this.ctx.checkRate(s, 'memberCounts')
        if (err) return this.ctx.result(s, f.reqId, err)
        const channels = [...new Set(f.channels)]
        return Promise.all(channels.map((channel) => this.ctx.engine.channelCount(s.appId, channel))).then((found) => {
          const counts = channels.map((channel, i) => ({ channel, count: found[i] }))
          s.sendNow(encodeFrame({ type: FrameType.MEMBER_COUNTS, reqId: f.reqId, counts }))
        })
      }
      case FrameType.CHANNEL_SYNC_TO_NODE:
        return void this.onSync(s, f).catch(fail(f.reqId))
      case FrameType.CHANNEL_ATTRS_WRITE: {
        const err =
          s.grants.writeAttributes === false ? new PlazaError(ErrorCode.NOT_PERMITTED, 'this user may not write channel attributes') : this.ctx.checkRate(s, 'attributeWrites')
        if (err) return this.ctx.result(s, f.reqId, err)
        return void this.writeAttributes(s, f).catch(fail(f.reqId))
      }
      case FrameType.CHANNEL_ATTRS_GET: {
        const err = this.ctx.checkRate(s, 'attributeReads')
        if (err) return this.ctx.result(s, f.reqId, err)
        return void this.docs
          .read(s.appId, f.channel, f.keys)
          .then((attrs) => s.sendNow(encodeFrame({ type: FrameType.ATTRIBUTES, reqId: f.reqId, attrs })))
          .catch(fail(f.reqId))
      }
    }
  }

  private async join(s: Session, reqId: number, channel: string, overlayKey?: Uint8Array): Promise<void> {
    const keyErr = this.overlay.keyRefusal(s, overlayKey)
    if (keyErr) return this.ctx.result(s, reqId, keyErr)
    if (s.channels.has(channel)) {
      // A retried join, or a member resynchronising: the list and everyone's state again (and a renewed certificate).
      // Joined again with a key after joining without (or the other way round): in the overlay now (or outside it).
      const outsideChanged = this.overlay.isOutside(s, channel) === (overlayKey !== undefined)
      // Limited as joins are (each answer costs a member list); a switch in or out of the overlay,
      // which costs a frame to every member in it, as joins of one channel are.
      const rateErr =
        this.ctx.checkRate(s, 'joins') ??
        (!outsideChanged || this.sameChannelBucket(s, channel).take(this.ctx.rt.clock.now()) ? null : new PlazaError(ErrorCode.TOO_OFTEN, 'joins of this channel too often'))
      if (rateErr) return this.ctx.result(s, reqId, rateErr)
      await this.ctx.moderation.onJoin(s, channel, false)
      if (outsideChanged) {
        this.overlay.noteOutside(s, channel, overlayKey === undefined)
        const count = await this.ctx.engine.joinChannel(s.appId, channel, this.memberRecord(s, channel, overlayKey))
        await this.tellOutsideCount(s.appId, channel, count)
      }
      if (overlayKey) await this.sendOutsideCount(s, channel)
      await this.sendMembers(s, reqId, channel, overlayKey && this.overlay.certify(s, channel, overlayKey))
      return this.sendAwareness(s, channel)
    }
    const err =
      (channelAllowed(s.grants.join, channel) ? null : new PlazaError(ErrorCode.NOT_PERMITTED, `this user may not join ${channel}`)) ??
      this.ctx.moderation.joinRefusal(s.appId, s.uid, channel) ??
      (s.channels.size >= MAX_CHANNELS_JOINED
        ? new PlazaError(ErrorCode.TOO_MANY_CHANNELS, `at most ${MAX_CHANNELS_JOINED} channels`)
        : null) ??
      this.ctx.checkRate(s, 'joins') ??
      (this.sameChannelBucket(s, channel).take(this.ctx.rt.clock.now()) ? null : new PlazaError(ErrorCode.TOO_OFTEN, 'joins of this channel too often'))
    if (err) return this.ctx.result(s, reqId, err)
    s.channels.add(channel)
    if (!overlayKey) this.overlay.noteOutside(s, channel, true)
    const count = await this.ctx.engine.joinChannel(s.appId, channel, this.memberRecord(s, channel, overlayKey))
    // Ended while joining: its leave (issued after this join) takes it out again.
    if (s.ended) return
    // Standing (roles, mutes) first: members know how to take the joiner before they hear of it.
    await this.ctx.moderation.onJoin(s, channel)
    // Before the member event: a member that hears of the joiner already sends it its copies.
    if (!overlayKey) await this.tellOutsideCount(s.appId, channel, count)
    // Above 512 members nobody follows members one by one; the count tells them so.
    if (count <= MAX_MEMBERS_LISTED + 1) {
      await this.ctx.engine.sendToChannel(s.appId, channel, encodeFrame({ type: FrameType.MEMBER_EVENT, channel, uid: s.uid, joined: true, count }), s.uid)
    }
    this.countChanged(s.appId, channel)
    // Before the answer: the joiner knows whom to send copies through the node before it can send.
    if (overlayKey) await this.sendOutsideCount(s, channel)
    await this.sendMembers(s, reqId, channel, overlayKey && s.channels.has(channel) ? this.overlay.certify(s, channel, overlayKey) : undefined)
    this.sendAwareness(s, channel)
    // The member then syncs the document itself (its step 1 carries its generation).
    this.docs.touch(s.appId, channel, false).catch((e) => this.ctx.log.error({ err: e }, 'touch failed'))
  }

  /** Everyone's awareness state, to a member that just joined or resynchronised. */
  private sendAwareness(s: Session, channel: string): void {
    const payload = this.awareness.snapshot(s.appId, channel)
    if (payload) s.send(encodeFrame({ type: FrameType.CHANNEL_SYNC_FROM_NODE, channel, from: '', epoch: 0, kind: SyncKind.AWARENESS, notify: false, payload }))
  }

  /** Leaves one channel (explicitly, or because the session ended). */
  async leave(s: Session, channel: string): Promise<void> {
    if (!s.channels.delete(channel)) return
    this.overlay.forget(s.appId, channel, s.uid)
    const wasOutside = this.overlay.isOutside(s, channel)
    this.overlay.noteOutside(s, channel, false)
    this.awareness.removeOwner(s.appId, channel, s.uid)
    this.shareAwareness(s.appId, channel, s.uid, null)
    const count = await this.ctx.engine.leaveChannel(s.appId, channel, s.uid, s.id)
    if (count < MAX_MEMBERS_LISTED) {
      await this.ctx.engine.sendToChannel(s.appId, channel, encodeFrame({ type: FrameType.MEMBER_EVENT, channel, uid: s.uid, joined: false, count }))
    }
    if (wasOutside) await this.tellOutsideCount(s.appId, channel, count)
    this.countChanged(s.appId, channel)
    if (count === 0) {
      this.awareness.dropChannel(s.appId, channel)
      this.docs.touch(s.appId, channel, true).catch((e) => this.ctx.log.error({ err: e }, 'touch failed'))
    }
  }

  /** A member whose node died leaves (if that session is still the member); the others hear it. */
  async orphanLeft(appId: string, channel: string, uid: string, sessionId: string): Promise<void> {
    const member = await this.ctx.engine.member(appId, channel, uid)
    if (member?.sessionId !== sessionId) return
    this.awareness.removeOwner(appId, channel, uid)
    this.shareAwareness(appId, channel, uid, null)
    const count = await this.ctx.engine.leaveChannel(appId, channel, uid, sessionId)
    if (count < MAX_MEMBERS_LISTED) {
      await this.ctx.engine.sendToChannel(appId, channel, encodeFrame({ type: FrameType.MEMBER_EVENT, channel, uid, joined: false, count }))
    }
    if (member.outside) await this.tellOutsideCount(appId, channel, count)
    this.countChanged(appId, channel)
  }

  /** Every other node keeps the member's awareness too (null: it left), for the joiners it serves. */
  private shareAwareness(appId: string, channel: string, owner: string, payload: Uint8Array | null): void {
    if (!this.ctx.engine.shared) return
    const message = encodeNodeMessage({ kind: 'awareness', from: this.ctx.engine.nodeId, appId, channel, owner, payload })
    this.ctx.background(this.ctx.engine.toNodes(message), 'awareness to the nodes')
  }

  /** A member on another node changed its awareness (or left). */
  awarenessElsewhere(appId: string, channel: string, owner: string, payload: Uint8Array | null): void {
    if (payload) this.awareness.apply(appId, channel, owner, payload)
    else this.awareness.removeOwner(appId, channel, owner)
  }

  leaveAll(s: Session): void {
    for (const channel of [...s.channels]) this.ctx.background(this.leave(s, channel), 'leave')
  }

  /** The engine's record of the member: outside the overlay when it joined without a key. */
  private memberRecord(s: Session, channel: string, overlayKey: Uint8Array | undefined): MemberRecord {
    const member: MemberRecord = { uid: s.uid, sessionId: s.id, role: s.grants.role ?? '', publishGrant: channelAllowed(s.grants.publish, channel) }
    if (!overlayKey) member.outside = true
    return member
  }

  /** How many members are outside the channel's overlay, to a member that joined with a key (it sends them their copies through the node); before MEMBERS. */
  private async sendOutsideCount(s: Session, channel: string): Promise<void> {
    const { count, version } = await this.ctx.engine.outsideCount(s.appId, channel)
    s.sendNow(encodeFrame({ type: FrameType.OVERLAY_OUTSIDE, channel, count, version }))
  }

  /**
   * The count changed: every member in the overlay hears it (only those: they joined with a key,
   * so they speak protocol 4). `members`: the channel's count after the change; with none in the
   * overlay (a channel of older or relay-only clients) nobody is told, and no member list is walked.
   */
  private async tellOutsideCount(appId: string, channel: string, members: number): Promise<void> {
    const { count, version } = await this.ctx.engine.outsideCount(appId, channel)
    if (members - count <= 0) return
    await this.ctx.engine.sendToChannel(appId, channel, encodeFrame({ type: FrameType.OVERLAY_OUTSIDE, channel, count, version }), undefined, 'overlay')
  }

  /** The member list; `cert` (the joiner's overlay certificate) only in the answer to a join that carried a key. */
  private async sendMembers(s: Session, reqId: number, channel: string, cert?: MemberCert): Promise<void> {
    const all = (await this.ctx.engine.channelMembers(s.appId, channel)).map((m) => m.uid)
    const members = sample(all, MAX_MEMBERS_LISTED, this.ctx.rt.random)
    s.sendNow(encodeFrame({ type: FrameType.MEMBERS, reqId, channel, count: all.length, members, ...(cert ? { cert } : {}) }))
  }

  private sameChannelBucket(s: Session, channel: string): RateBucket {
    let b = s.joinBuckets.get(channel)
    if (!b) {
      if (s.joinBuckets.size >= MAX_JOIN_BUCKETS) s.joinBuckets.delete(s.joinBuckets.keys().next().value!)
      s.joinBuckets.set(channel, (b = new RateBucket(this.ctx.config.rateLimits.sameChannelJoins, this.ctx.rt.clock.now())))
    }
    return b
  }

  private async onSync(s: Session, f: Extract<ChannelFrame, { type: FrameType.CHANNEL_SYNC_TO_NODE }>): Promise<void> {
    if (!s.channels.has(f.channel)) throw new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'not a member')
    const others = Math.max(1, (await this.ctx.engine.channelCount(s.appId, f.channel)) - 1)
    const overBudget = this.ctx.chargeBytes(s, f.payload.length * others)
    if (overBudget) throw overBudget
    if (!s.buckets.channelRelay.take(this.ctx.rt.clock.now())) throw new PlazaError(ErrorCode.TOO_OFTEN, 'channel sync too often')
    if (f.kind === SyncKind.AWARENESS) {
      // Only the member's own entries are kept and passed on: no one overwrites another's state.
      const own = this.awareness.apply(s.appId, f.channel, s.uid, f.payload)
      if (!own) throw new PlazaError(ErrorCode.NOT_PERMITTED, 'an awareness update with no entry of this member')
      this.shareAwareness(s.appId, f.channel, s.uid, own)
      await this.ctx.engine.sendToChannel(
        s.appId,
        f.channel,
        encodeFrame({ type: FrameType.CHANNEL_SYNC_FROM_NODE, channel: f.channel, from: s.uid, epoch: 0, kind: f.kind, notify: false, payload: own }),
        s.uid,
      )
      if (f.reqId) this.ctx.result(s, f.reqId, null)
      return
    }
    // STALE_EPOCH (an old generation, or changes the node never got) goes back as the RESULT:
    // the member asks for the node's state and writes again.
    const { reply, change } = await this.docs.onSync(s.appId, f.channel, f.epoch, f.payload, s.grants.writeAttributes !== false, s.uid)
    if (reply) s.send(encodeFrame({ type: FrameType.CHANNEL_SYNC_FROM_NODE, channel: f.channel, from: '', epoch: reply.epoch, kind: SyncKind.DOC, notify: false, payload: reply.payload }))
    if (change) await this.announce(s.appId, f.channel, s.uid, f.notify, change, s.uid)
    if (f.reqId) this.ctx.result(s, f.reqId, null)
  }

  /** Tells the members about an accepted change: the update, or the whole new generation. */
  private async announce(appId: string, channel: string, by: string, notify: boolean, change: DocChange, except?: string): Promise<void> {
    if (change.fresh) {
      // Everyone, the writer included, moves to the new generation.
      const { epoch, payload } = change.fresh
      await this.ctx.engine.sendToChannel(appId, channel, encodeFrame({ type: FrameType.CHANNEL_SYNC_FROM_NODE, channel, from: by, epoch, kind: SyncKind.DOC, notify, payload }))
    } else if (change.update) {
      const epoch = change.epoch
      await this.ctx.engine.sendToChannel(
        appId,
        channel,
        encodeFrame({ type: FrameType.CHANNEL_SYNC_FROM_NODE, channel, from: by, epoch, kind: SyncKind.DOC, notify, payload: change.update }),
        except,
      )
    }
  }

  private async writeAttributes(s: Session, f: Extract<ChannelFrame, { type: FrameType.CHANNEL_ATTRS_WRITE }>): Promise<void> {
    await this.writeAttributesFor(s.appId, f.channel, s.uid, f.op, Object.fromEntries(f.attrs), f.keys, f.notify)
    this.ctx.result(s, f.reqId, null)
  }

  /** An attribute verb on the node's replica (from a session or the REST API); members get the update. */
  async writeAttributesFor(
    appId: string,
    channel: string,
    by: string,
    op: AttributeOp,
    attrs: Record<string, string>,
    keys: string[],
    notify: boolean,
  ): Promise<void> {
    const change = await this.docs.write(appId, channel, by, op, attrs, keys)
    if (change) await this.announce(appId, channel, by, notify, change)
  }

  /** MemberCountUpdated now, then at most one per interval while the count keeps changing. */
  private countChanged(appId: string, channel: string): void {
    const k = `${appId}\u0000${channel}`
    const pending = this.countTimers.get(k)
    if (pending) {
      pending.dirty = true
      return
    }
    const entry: { timer: TimerHandle | null; dirty: boolean } = { timer: null, dirty: false }
    this.countTimers.set(k, entry)
    const send = async () => {
      const count = await this.ctx.engine.channelCount(appId, channel)
      await this.ctx.engine.sendToChannel(appId, channel, encodeFrame({ type: FrameType.MEMBER_COUNT_UPDATED, channel, count }))
      if (this.closed) return
      const interval = count > MAX_MEMBERS_LISTED ? 3 * this.ctx.config.memberCountIntervalMs : this.ctx.config.memberCountIntervalMs
      entry.timer = this.ctx.rt.clock.setTimeout(() => {
        entry.timer = null
        if (!entry.dirty) return void this.countTimers.delete(k)
        entry.dirty = false
        sendOrForget()
      }, interval)
    }
    const sendOrForget = () =>
      send().catch((err: unknown) => {
        this.countTimers.delete(k)
        this.ctx.log.error({ err }, 'member count update failed')
      })
    sendOrForget()
  }

  close(): void {
    this.closed = true
    for (const { timer } of this.countTimers.values()) this.ctx.rt.clock.clearTimeout(timer)
    this.countTimers.clear()
  }
}
