import {
  ErrorCode,
  FrameType,
  MAX_CHANNELS_JOINED,
  MAX_MEMBERS_LISTED,
  PlazaError,
  RateBucket,
  SyncKind,
  encodeFrame,
  type AttributeOp,
  type ClientFrame,
} from '@plaza/protocol'
import type { NodeContext } from '../context.js'
import type { Session } from '../session.js'
import { ChannelDocs } from './channel-docs.js'

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
  }
>

const MAX_JOIN_BUCKETS = 256

/** A random sample of at most `n` (Fisher–Yates on a copy). */
function sample<T>(list: T[], n: number): T[] {
  if (list.length <= n) return list
  const a = [...list]
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (a.length - i))
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
  /** Pending MemberCountUpdated per channel: at most one a second (3 s above 512 members). */
  private readonly countTimers = new Map<string, { timer: NodeJS.Timeout; dirty: boolean }>()

  constructor(private readonly ctx: NodeContext) {
    this.docs = new ChannelDocs(ctx.engine.docs, (err) => ctx.log.error({ err }, 'channel document save failed'))
  }

  handle(s: Session, f: ChannelFrame): void {
    const fail = (reqId: number) => (err: unknown) => {
      if (!(err instanceof PlazaError)) this.ctx.log.error({ err }, 'channel request failed')
      this.ctx.result(s, reqId, err instanceof PlazaError ? err : new PlazaError(ErrorCode.INTERNAL, 'internal error'))
    }
    switch (f.type) {
      case FrameType.JOIN_CHANNEL:
        return this.join(s, f.reqId, f.channel)
      case FrameType.LEAVE_CHANNEL: {
        if (!s.channels.has(f.channel)) return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'not a member'))
        this.leave(s, f.channel)
        return this.ctx.result(s, f.reqId, null)
      }
      case FrameType.GET_MEMBERS: {
        if (!s.channels.has(f.channel)) return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'not a member'))
        return this.sendMembers(s, f.reqId, f.channel)
      }
      case FrameType.GET_MEMBER_COUNTS: {
        const err = f.channels.length === 0 ? new PlazaError(ErrorCode.INVALID_ARGUMENT, 'no channels') : this.ctx.checkRate(s, 'memberCounts')
        if (err) return this.ctx.result(s, f.reqId, err)
        const counts = [...new Set(f.channels)].map((channel) => ({ channel, count: this.ctx.engine.channelCount(s.appId, channel) }))
        return s.sendNow(encodeFrame({ type: FrameType.MEMBER_COUNTS, reqId: f.reqId, counts }))
      }
      case FrameType.CHANNEL_SYNC_TO_NODE:
        return void this.onSync(s, f).catch(fail(f.reqId))
      case FrameType.CHANNEL_ATTRS_WRITE: {
        const err = this.ctx.checkRate(s, 'attributeWrites')
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

  private join(s: Session, reqId: number, channel: string): void {
    if (s.channels.has(channel)) return this.sendMembers(s, reqId, channel) // a retried join
    const err =
      (s.channels.size >= MAX_CHANNELS_JOINED
        ? new PlazaError(ErrorCode.TOO_MANY_CHANNELS, `at most ${MAX_CHANNELS_JOINED} channels`)
        : null) ??
      this.ctx.checkRate(s, 'joins') ??
      (this.sameChannelBucket(s, channel).take(Date.now()) ? null : new PlazaError(ErrorCode.TOO_OFTEN, 'joins of this channel too often'))
    if (err) return this.ctx.result(s, reqId, err)
    s.channels.add(channel)
    const count = this.ctx.engine.joinChannel(s, channel)
    if (count <= MAX_MEMBERS_LISTED) {
      this.ctx.engine.sendToChannel(s.appId, channel, encodeFrame({ type: FrameType.MEMBER_EVENT, channel, uid: s.uid, joined: true }), s.uid)
    }
    this.countChanged(s.appId, channel)
    this.sendMembers(s, reqId, channel)
    // Ask the new member for what the node's replica lacks (it answers with its step 2).
    this.docs.touch(s.appId, channel).catch((e) => this.ctx.log.error({ err: e }, 'touch failed'))
    this.docs.syncStep1(s.appId, channel).then(
      (payload) => s.send(encodeFrame({ type: FrameType.CHANNEL_SYNC_FROM_NODE, channel, from: '', kind: SyncKind.DOC, notify: false, payload })),
      (e) => this.ctx.log.error({ err: e }, 'sync step 1 failed'),
    )
  }

  /** Leaves one channel (explicitly, or because the session ended). */
  leave(s: Session, channel: string): void {
    if (!s.channels.delete(channel)) return
    const count = this.ctx.engine.leaveChannel(s, channel)
    if (count < MAX_MEMBERS_LISTED) {
      this.ctx.engine.sendToChannel(s.appId, channel, encodeFrame({ type: FrameType.MEMBER_EVENT, channel, uid: s.uid, joined: false }))
    }
    this.countChanged(s.appId, channel)
    if (count === 0) this.docs.touch(s.appId, channel).catch((e) => this.ctx.log.error({ err: e }, 'touch failed'))
  }

  leaveAll(s: Session): void {
    for (const channel of [...s.channels]) this.leave(s, channel)
  }

  private sendMembers(s: Session, reqId: number, channel: string): void {
    const all = this.ctx.engine.channelMembers(s.appId, channel)
    s.sendNow(encodeFrame({ type: FrameType.MEMBERS, reqId, channel, count: all.length, members: sample(all, MAX_MEMBERS_LISTED) }))
  }

  private sameChannelBucket(s: Session, channel: string): RateBucket {
    let b = s.joinBuckets.get(channel)
    if (!b) {
      if (s.joinBuckets.size >= MAX_JOIN_BUCKETS) s.joinBuckets.delete(s.joinBuckets.keys().next().value!)
      s.joinBuckets.set(channel, (b = new RateBucket(this.ctx.config.rateLimits.sameChannelJoins, Date.now())))
    }
    return b
  }

  private async onSync(s: Session, f: Extract<ChannelFrame, { type: FrameType.CHANNEL_SYNC_TO_NODE }>): Promise<void> {
    if (!s.channels.has(f.channel)) throw new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'not a member')
    if (!s.buckets.channelRelay.take(Date.now())) throw new PlazaError(ErrorCode.TOO_OFTEN, 'channel sync too often')
    const forward = (payload: Uint8Array) =>
      this.ctx.engine.sendToChannel(
        s.appId,
        f.channel,
        encodeFrame({ type: FrameType.CHANNEL_SYNC_FROM_NODE, channel: f.channel, from: s.uid, kind: f.kind, notify: f.notify, payload }),
        s.uid,
      )
    if (f.kind === SyncKind.AWARENESS) {
      forward(f.payload)
      if (f.reqId) this.ctx.result(s, f.reqId, null)
      return
    }
    const { reply, update } = await this.docs.onSync(s.appId, f.channel, f.payload)
    if (reply) s.send(encodeFrame({ type: FrameType.CHANNEL_SYNC_FROM_NODE, channel: f.channel, from: '', kind: SyncKind.DOC, notify: false, payload: reply }))
    if (update) {
      forward(update)
      if (f.reqId) await this.docs.flush(s.appId, f.channel)
    }
    if (f.reqId) this.ctx.result(s, f.reqId, null)
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
    const update = await this.docs.write(appId, channel, by, op, attrs, keys)
    if (!update) return
    this.ctx.engine.sendToChannel(
      appId,
      channel,
      encodeFrame({ type: FrameType.CHANNEL_SYNC_FROM_NODE, channel, from: by, kind: SyncKind.DOC, notify, payload: update }),
    )
  }

  private countChanged(appId: string, channel: string): void {
    const k = `${appId}\u0000${channel}`
    const pending = this.countTimers.get(k)
    if (pending) {
      pending.dirty = true
      return
    }
    const send = () => {
      const count = this.ctx.engine.channelCount(appId, channel)
      this.ctx.engine.sendToChannel(appId, channel, encodeFrame({ type: FrameType.MEMBER_COUNT_UPDATED, channel, count }))
      return count
    }
    const arm = (count: number) => {
      const entry = {
        dirty: false,
        timer: setTimeout(
          () => {
            if (entry.dirty) arm(send())
            else this.countTimers.delete(k)
          },
          count > MAX_MEMBERS_LISTED ? 3 * this.ctx.config.memberCountIntervalMs : this.ctx.config.memberCountIntervalMs,
        ),
      }
      this.countTimers.set(k, entry)
    }
    arm(send())
  }

  close(): void {
    for (const { timer } of this.countTimers.values()) clearTimeout(timer)
    this.countTimers.clear()
  }
}
