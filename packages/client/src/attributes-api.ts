import {
  AttributeOp,
  ErrorCode,
  FrameType,
  MAX_MEMBER_COUNT_CHANNELS,
  PlazaError,
  RateBucket,
  applyAttributeWrite,
  assertChannelId,
  assertUserId,
  checkAttributeKey,
  checkAttributeWrite,
  type AttributeEntry,
  type ClientFrame,
  type ServerFrame,
  type Grants,
} from '@plaza/protocol'
import type { ChannelAttributes, PlazaChannel } from './channels/channel.js'

/** Options of the channel attribute verbs. */
export interface ChannelAttributeOptions {
  /** Members get AttributesUpdated. Default false. */
  enableNotificationToChannelMembers?: boolean
}

interface Host {
  request(build: (reqId: number) => ClientFrame): Promise<ServerFrame>
  channel(id: string): PlazaChannel | undefined
  now(): number
  readonly grants: Grants
}

function toChannelAttributes(entries: AttributeEntry[]): ChannelAttributes {
  return Object.fromEntries(entries.map((a) => [a.key, { value: a.value, lastUpdateUserId: a.lastUpdateUserId, lastUpdateTs: a.lastUpdateTs }]))
}

export function toUserAttributes(entries: AttributeEntry[]): Record<string, string> {
  return Object.fromEntries(entries.map((a) => [a.key, a.value]))
}

/**
 * User and channel attributes. A member writes a channel's attributes into its own replica of
 * the channel document (spread over the mesh and stored by the node); anyone else reads and
 * writes through the node's replica.
 */
export class AttributesApi {
  /** Our user attributes as last stored, to restore after the node lost our session. */
  readonly mine = new Map<string, string>()
  private readonly writes: RateBucket

  constructor(
    private readonly host: Host,
    writeLimit: { count: number; windowMs: number },
  ) {
    this.writes = new RateBucket(writeLimit, host.now())
  }

  checkWriteRate(): void {
    if (!this.writes.take(this.host.now())) throw new PlazaError(ErrorCode.TOO_OFTEN, 'attribute writes too often')
  }

  async writeUser(op: AttributeOp, attrs: Record<string, string>, keys: string[]): Promise<void> {
    const next = applyAttributeWrite('user', this.mine, op, attrs, keys)
    this.checkWriteRate()
    await this.host.request((reqId) => ({ type: FrameType.USER_ATTRS_WRITE, reqId, op, attrs: Object.entries(attrs ?? {}), keys: keys ?? [] }))
    this.mine.clear()
    for (const [k, v] of next) this.mine.set(k, v)
  }

  /** After a fresh session: put our attributes back. */
  async restoreUser(): Promise<void> {
    if (this.mine.size === 0) return
    const attrs = [...this.mine]
    await this.host.request((reqId) => ({ type: FrameType.USER_ATTRS_WRITE, reqId, op: AttributeOp.SET, attrs, keys: [] }))
  }

  async getUser(uid: string, keys: string[]): Promise<Record<string, string>> {
    assertUserId(uid)
    for (const k of keys) checkAttributeKey(k)
    const f = await this.host.request((reqId) => ({ type: FrameType.USER_ATTRS_GET, reqId, uid, keys }))
    return f.type === FrameType.ATTRIBUTES ? toUserAttributes(f.attrs) : {}
  }

  async writeChannel(channelId: string, op: AttributeOp, attrs: Record<string, string>, keys: string[], options: ChannelAttributeOptions = {}): Promise<void> {
    assertChannelId(channelId)
    checkAttributeWrite(op, attrs, keys)
    const notify = options.enableNotificationToChannelMembers === true
    if (this.host.grants.writeAttributes === false) throw new PlazaError(ErrorCode.NOT_PERMITTED, 'this token may not write channel attributes')
    const channel = this.host.channel(channelId)
    if (channel?.joined) return channel.writeAttributes(op, attrs, keys, notify)
    this.checkWriteRate()
    await this.host.request((reqId) => ({
      type: FrameType.CHANNEL_ATTRS_WRITE,
      reqId,
      channel: channelId,
      op,
      attrs: Object.entries(attrs ?? {}),
      keys: keys ?? [],
      notify,
    }))
  }

  async getChannel(channelId: string, keys: string[]): Promise<ChannelAttributes> {
    assertChannelId(channelId)
    for (const k of keys) checkAttributeKey(k)
    const channel = this.host.channel(channelId)
    if (channel?.joined) {
      const all = channel.attributes()
      return keys.length ? Object.fromEntries(keys.filter((k) => k in all).map((k) => [k, all[k]])) : all
    }
    const f = await this.host.request((reqId) => ({ type: FrameType.CHANNEL_ATTRS_GET, reqId, channel: channelId, keys }))
    return f.type === FrameType.ATTRIBUTES ? toChannelAttributes(f.attrs) : {}
  }

  async memberCounts(channelIds: string[]): Promise<Record<string, number>> {
    if (!Array.isArray(channelIds) || channelIds.length === 0 || channelIds.length > MAX_MEMBER_COUNT_CHANNELS) {
      throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `1 to ${MAX_MEMBER_COUNT_CHANNELS} channel ids`)
    }
    for (const id of channelIds) assertChannelId(id)
    const f = await this.host.request((reqId) => ({ type: FrameType.GET_MEMBER_COUNTS, reqId, channels: channelIds }))
    return f.type === FrameType.MEMBER_COUNTS ? Object.fromEntries(f.counts.map((c) => [c.channel, c.count])) : {}
  }
}
