import type { ChannelAttributes, PlazaChannel } from '@plaza/client'
import { EventEmitter } from './emitter.js'
import { shaped } from './errors.js'
import { fromPlaza, toPlaza, type MediaBook, type ReceivedMessageProperties, type RtmMessage } from './messages.js'

export type RtmChannelEvents = {
  ChannelMessage: [message: RtmMessage, memberId: string, messagePros: ReceivedMessageProperties]
  MemberLeft: [memberId: string]
  MemberJoined: [memberId: string]
  AttributesUpdated: [attributes: ChannelAttributes]
  MemberCountUpdated: [memberCount: number]
}

/** agora-rtm-sdk 1.x's RtmChannel over a Plaza channel (one per channel id and client). */
export class RtmChannel extends EventEmitter<RtmChannelEvents> {
  readonly channelId: string

  /** @internal */
  constructor(
    private readonly inner: PlazaChannel,
    private readonly media: MediaBook,
  ) {
    super()
    this.channelId = inner.channelId
    inner.on('ChannelMessage', (message, memberId) => {
      // Plaza channel messages travel peer to peer: no server took them; the time is when it arrived.
      this._emit('ChannelMessage', fromPlaza(message, media), memberId, { serverReceivedTs: Date.now(), isOfflineMessage: false })
    })
    inner.on('MemberJoined', (id) => this._emit('MemberJoined', id))
    inner.on('MemberLeft', (id) => this._emit('MemberLeft', id))
    inner.on('MemberCountUpdated', (n) => this._emit('MemberCountUpdated', n))
    inner.on('AttributesUpdated', (a) => this._emit('AttributesUpdated', a))
  }

  /** Joins (at most 20 channels at once). */
  join(): Promise<void> {
    return shaped('JOIN_CHANNEL', () => this.inner.join())
  }

  leave(): Promise<void> {
    return shaped('LEAVE_CHANNEL', () => this.inner.leave())
  }

  /**
   * Sends to every other member. Resolves once each member's copy settled (received, or not
   * confirmed within 10 s); a member that could not be reached does not make it reject.
   */
  sendMessage(message: RtmMessage, _options?: { enableOfflineMessaging?: boolean; enableHistoricalMessaging?: boolean }): Promise<void> {
    return shaped('CHANNEL_MESSAGE', async () => {
      await this.inner.sendMessage(toPlaza(message, this.media, 'CHANNEL_MESSAGE'))
    })
  }

  /** Member ids (at most 512: a random 512 in larger channels). */
  getMembers(): Promise<string[]> {
    return shaped('GET_MEMBERS', () => this.inner.getMembers())
  }

  /** The Plaza channel underneath, for what the SDK did not have (member state, moderation). */
  get plaza(): PlazaChannel {
    return this.inner
  }
}
