import {
  BROADCAST_STREAM_PREFIX,
  ErrorCode,
  FrameType,
  NODE_STREAM_PREFIX,
  PeerFrameType,
  PlazaError,
  RelayStatus,
  MAX_BATCH_FRAMES,
  MessageKind,
  channelAllowed,
  decodeMediaFrame,
  decodeMediaInfo,
  decodePeerFrame,
  deferOn,
  encodeFrame,
  isMediaFrameType,
  peekMessageHeader,
  type ChannelBroadcastFrame,
  type OverlayOutsideSendFrame,
  type MediaInfo,
  type RelayToFrame,
} from '@plaza/protocol'
import type { NodeContext } from './context.js'
import type { Session } from './session.js'
import type { ChannelAudience, Reach } from './engine/engine.js'

type MessageHeader = NonNullable<ReturnType<typeof peekMessageHeader>>

const OFFLINE_CHUNK = 50
/**
 * "Relayed" answers wait this long for the next frame to their client (the receiver's
 * acknowledgement, usually, a fraction of a millisecond later): sent together they cost the node
 * one write instead of two. The client needs the answer only to stop sending the copy again.
 */
const RELAYED_HOLD_MS = 5
/** Stored messages that could not be listed for a session are tried again this much later. */
const OFFLINE_RETRY_MS = 1000

/** What relaying needs of the REST API: acknowledgements of messages it sent for an app's server. */
export interface RelayHooks {
  /** True when the ACK was for a node-sent stream (it ends here). */
  onNodeStreamAck(payload: Uint8Array): boolean
  /**
   * A media message is to be stored for an offline receiver: true if its file is in the app's
   * media store (then kept at least until `until`), false if not. Rejects with a PlazaError
   * when the message cannot be stored whatever is uploaded (MEDIA_TOO_LARGE, MEDIA_INTEGRITY).
   */
  holdMedia(appId: string, info: MediaInfo, until: number): Promise<boolean>
}

/**
 * The relay (peer frames through the node when no direct link works), the offline store's
 * side of it (what a receiver with no session, or one that is away, gets when it is back) and the fan-out of
 * channel messages in channels too large for every member to know every other.
 */
export class RelayService {
  /** Relay requests relayed, per session (protocol 3): answered by one RELAYED (see RELAYED_HOLD_MS). */
  private relayedDue = new Map<Session, number[]>()
  /** The same sessions by app and user (an acknowledgement relayed to one takes its RELAYED along). */
  private relayedDueByUser = new Map<string, Session>()

  constructor(
    private readonly ctx: NodeContext,
    private readonly hooks: RelayHooks,
  ) {}

  /**
   * A RELAY_TO: checked, then relayed, or stored for an offline receiver. With an engine that
   * delivers at once, a peer message or acknowledgement is handled without a promise.
   */
  onRelay(s: Session, f: RelayToFrame): Promise<void> | void {
    const now = this.ctx.rt.clock.now()
    const kind = f.payload[0]
    const isMessage = kind === PeerFrameType.MESSAGE
    if (f.to === s.uid) return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.INVALID_USER_ID, 'cannot relay to yourself'))
    if (kind !== undefined && isMediaFrameType(kind)) return this.relayMedia(s, f, (status) => this.reply(s, f, status, now))
    if (!isMessage && kind !== PeerFrameType.ACK) {
      return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.INVALID_ARGUMENT, 'only messages, acknowledgements and media transfer frames are relayed'))
    }
    const header = isMessage ? peekMessageHeader(f.payload) : null
    if (isMessage && (!header || header.stream.startsWith(BROADCAST_STREAM_PREFIX))) {
      return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.MALFORMED_FRAME, 'not a message frame'))
    }
    if (header?.stream.startsWith(NODE_STREAM_PREFIX)) {
      return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.MALFORMED_FRAME, `streams starting with ${NODE_STREAM_PREFIX} are the node's`))
    }
    if (header?.channel) return this.relayChannelMessage(s, f, header, now)
    if (!(isMessage ? s.buckets.messages : s.buckets.channelRelay).take(now)) {
      return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.TOO_OFTEN, 'messages too often'))
    }
    if (isMessage && s.noteContact(f.to)) this.ctx.background(this.ctx.engine.noteSent(s.appId, s.uid, f.to), 'contacts')
    // Acknowledgements of messages the node sent for an app's server (REST) end here.
    if (!isMessage && this.hooks.onNodeStreamAck(f.payload)) return
    return this.pass(s, f, header, now)
  }

  /** A channel message goes only between members of that channel. */
  private async relayChannelMessage(s: Session, f: RelayToFrame, header: MessageHeader, now: number): Promise<void> {
    const channel = header.channel
    if (!s.channels.has(channel) || !(await this.ctx.engine.member(s.appId, channel, f.to))) {
      return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'sender and receiver must both be members'))
    }
    if (!channelAllowed(s.grants.publish, channel) || this.ctx.moderation.isMuted(s.appId, channel, s.uid)) {
      return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.NOT_PERMITTED, `this user may not publish in ${channel}`))
    }
    // Its copies share one message's worth of budget (1/(members − 1) each), so the node never
    // refuses what the SDK's own limit allows; twice that leaves room for retransmissions.
    const others = Math.max(1, (await this.ctx.engine.channelCount(s.appId, channel)) - 1)
    if (!s.buckets.channelRelay.take(now, 1 / others)) {
      return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.TOO_OFTEN, 'channel messages too often'))
    }
    return this.pass(s, f, header, now)
  }

  /** Answers a RELAY_TO that asked for an answer (a reqId). */
  private reply(s: Session, f: RelayToFrame, status: RelayStatus, now: number): void {
    if (!f.reqId) return
    if (status === RelayStatus.RELAYED && s.protocol >= 3) this.answerRelayed(s, f.reqId)
    else s.sendNow(encodeFrame({ type: FrameType.RELAY_RESULT, reqId: f.reqId, status, serverTs: now }))
  }

  /** A checked frame: to the receiver's session, or (a peer message that may be) stored. */
  private pass(s: Session, f: RelayToFrame, header: MessageHeader | null, now: number): Promise<void> | void {
    const frame = encodeFrame({ type: FrameType.RELAY_FROM, from: s.uid, serverTs: now, payload: f.payload })
    if (this.relayedDueByUser.size > 0) this.flushRelayedTo(s.appId, f.to)
    // A message that may be stored is stored rather than relayed to a session that is away (its
    // connection dropped or silent): queued for it, it would be lost if the session never came back.
    const storable = f.offline && header !== null && !header.channel
    const engine = this.ctx.engine
    if (engine.deliverNow && engine.deliverIfConnectedNow) {
      const reach = storable ? engine.deliverIfConnectedNow(s.appId, f.to, frame) : engine.deliverNow(s.appId, f.to, frame) ? 'delivered' : 'none'
      return this.reached(s, f, header, storable, reach, now)
    }
    const reach = storable ? engine.deliverIfConnected(s.appId, f.to, frame) : engine.deliver(s.appId, f.to, frame).then((ok): Reach => (ok ? 'delivered' : 'none'))
    return reach.then((r) => this.reached(s, f, header, storable, r, now))
  }

  private reached(s: Session, f: RelayToFrame, header: MessageHeader | null, storable: boolean, reach: Reach, now: number): Promise<void> | void {
    if (reach === 'delivered') {
      this.ctx.metrics.countRelayed(header?.channel ? 'channel' : header ? 'peer' : 'ack')
      return this.reply(s, f, RelayStatus.RELAYED, now)
    }
    if (!storable || !header) {
      if (header && !header.channel) s.noteUnreachable(f.to, header.stream, header.seq)
      return this.reply(s, f, RelayStatus.PEER_OFFLINE, now)
    }
    return this.store(s, f, header, now)
  }

  /** A peer message for a receiver that is offline or away, into the offline store. */
  private async store(s: Session, f: RelayToFrame, header: MessageHeader, now: number): Promise<void> {
    const reply = (status: RelayStatus) => this.reply(s, f, status, now)
    // A file's message is stored only with its file: else the sender is asked to upload it first.
    if (!(await this.mediaHeld(s, f.payload, now))) {
      this.ctx.metrics.mediaRefusals.inc({ code: 'MEDIA_WANTED' })
      if (f.reqId) return reply(RelayStatus.MEDIA_WANTED)
      return this.ctx.result(s, 0, new PlazaError(ErrorCode.MEDIA_NOT_FOUND, 'not stored: upload the file (PUT /media/{mediaId}), then send the message again'))
    }
    // Copy: the payload is a view into the socket's receive buffer.
    const payload = Uint8Array.prototype.slice.call(f.payload)
    // Not waited for: the next frame need not wait for the disk (the store keeps the order).
    void this.ctx.engine.offline
      .put({ appId: s.appId, uid: f.to, from: s.uid, serverTs: now, stream: header.stream, seq: header.seq, payload, skipped: s.takeUnreachable(f.to, header.stream, header.seq) })
      .then(
        () => {
          this.ctx.metrics.offlineStored.inc()
          // The receiver may have logged in meanwhile: it gets the message now.
          this.ctx.background(this.ctx.engine.command(s.appId, f.to, { kind: 'offline' }), 'offline nudge')
          reply(RelayStatus.STORED)
        },
        (err) => {
          if (err instanceof PlazaError && err.code === ErrorCode.QUOTA_EXCEEDED) {
            this.ctx.metrics.offlineQuotaRefused.inc()
            return this.ctx.result(s, f.reqId, err)
          }
          this.ctx.log.error({ err }, 'offline store write failed')
          this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.INTERNAL, 'offline store unavailable'))
        },
      )
  }

  /**
   * Media transfer frames (REQUEST, DATA, ...) between two online users, when no direct link
   * works: checked by the codec, paid from the sender's byte budget, never stored.
   */
  private async relayMedia(s: Session, f: RelayToFrame, reply: (status: RelayStatus) => void): Promise<void> {
    decodeMediaFrame(f.payload)
    const now = this.ctx.rt.clock.now()
    const overBudget = this.ctx.chargeBytes(s, f.payload.length)
    if (overBudget) return this.ctx.result(s, f.reqId, overBudget)
    if (!s.buckets.channelRelay.take(now)) return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.TOO_OFTEN, 'media frames too often'))
    const frame = encodeFrame({ type: FrameType.RELAY_FROM, from: s.uid, serverTs: now, payload: f.payload })
    if (this.relayedDueByUser.size > 0) this.flushRelayedTo(s.appId, f.to)
    if (!(await this.ctx.engine.deliver(s.appId, f.to, frame))) return reply(RelayStatus.PEER_OFFLINE)
    this.ctx.metrics.countRelayed('media')
    reply(RelayStatus.RELAYED)
  }

  /** True unless the payload is a media message whose file is not in the app's media store. */
  private async mediaHeld(s: Session, payload: Uint8Array, now: number): Promise<boolean> {
    const message = decodePeerFrame(payload)
    if (message.type !== PeerFrameType.MESSAGE || message.kind !== MessageKind.MEDIA) return true
    // The file must outlast the stored message.
    return this.hooks.holdMedia(s.appId, decodeMediaInfo(message.bytes), now + this.ctx.config.offlineRetentionMs)
  }

  /**
   * "Relayed" is the usual answer: one frame answers every request relayed for a client within
   * RELAYED_HOLD_MS, and goes earlier with the next frame relayed to that client.
   */
  private answerRelayed(s: Session, reqId: number): void {
    const due = this.relayedDue.get(s)
    if (due && due.length < MAX_BATCH_FRAMES) return void due.push(reqId)
    if (due) this.sendRelayed(s, due)
    if (this.relayedDue.size === 0) this.ctx.rt.clock.setTimeout(() => this.flushRelayed(), RELAYED_HOLD_MS, true)
    this.relayedDue.set(s, [reqId])
    this.relayedDueByUser.set(`${s.appId}\n${s.uid}`, s)
  }

  private flushRelayed(): void {
    const due = this.relayedDue
    this.relayedDue = new Map()
    this.relayedDueByUser.clear()
    for (const [s, reqIds] of due) this.sendRelayed(s, reqIds)
  }

  /** A frame is about to be relayed to `uid`: its RELAYED answers go first, in the same write. */
  private flushRelayedTo(appId: string, uid: string): void {
    const key = `${appId}\n${uid}`
    const s = this.relayedDueByUser.get(key)
    if (!s) return
    this.relayedDueByUser.delete(key)
    const reqIds = this.relayedDue.get(s)
    this.relayedDue.delete(s)
    if (reqIds) this.sendRelayed(s, reqIds)
  }

  private sendRelayed(s: Session, reqIds: number[]): void {
    reqIds.sort((a, b) => a - b)
    s.sendNow(encodeFrame({ type: FrameType.RELAYED, serverTs: this.ctx.rt.clock.now(), reqIds }))
  }

  /** A channel message for every other member (channels above 512 members): one frame each, never stored. */
  async onBroadcast(s: Session, f: ChannelBroadcastFrame): Promise<void> {
    const refusal = this.broadcastRefusal(s, f)
    if (refusal) return this.ctx.result(s, f.reqId, refusal)
    const others = Math.max(0, (await this.ctx.engine.channelCount(s.appId, f.channel)) - 1)
    await this.fanOut(s, f, others, 'all')
  }

  /**
   * A member of a channel's overlay hands the node its message for the members outside the
   * overlay (PROTOCOL.md, "Members outside the overlay"); with none outside, nothing is sent.
   */
  async onOverlayOutside(s: Session, f: OverlayOutsideSendFrame): Promise<void> {
    const refusal = this.broadcastRefusal(s, f)
    if (refusal) return this.ctx.result(s, f.reqId, refusal)
    const { count } = await this.ctx.engine.outsideCount(s.appId, f.channel)
    if (count === 0) return this.ctx.result(s, f.reqId, null)
    await this.fanOut(s, f, count, 'outside')
  }

  private broadcastRefusal(s: Session, f: ChannelBroadcastFrame | OverlayOutsideSendFrame): PlazaError | null {
    const header = peekMessageHeader(f.payload)
    if (!header || header.channel !== f.channel || !header.stream.startsWith(BROADCAST_STREAM_PREFIX)) {
      return new PlazaError(ErrorCode.MALFORMED_FRAME, 'a channel message on a broadcast stream')
    }
    if (!s.channels.has(f.channel)) return new PlazaError(ErrorCode.NOT_IN_CHANNEL, 'not a member')
    if (!channelAllowed(s.grants.publish, f.channel) || this.ctx.moderation.isMuted(s.appId, f.channel, s.uid)) {
      return new PlazaError(ErrorCode.NOT_PERMITTED, `this user may not publish in ${f.channel}`)
    }
    return null
  }

  /** One message from `s` to `receivers` members of `audience`, charged to its budget and rate. */
  private async fanOut(s: Session, f: ChannelBroadcastFrame | OverlayOutsideSendFrame, receivers: number, audience: ChannelAudience): Promise<void> {
    const now = this.ctx.rt.clock.now()
    const overBudget = this.ctx.chargeBytes(s, f.payload.length * Math.max(1, receivers))
    if (overBudget) return this.ctx.result(s, f.reqId, overBudget)
    if (!s.buckets.messages.take(now)) return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.TOO_OFTEN, 'messages too often'))
    const frame = encodeFrame({ type: FrameType.RELAY_FROM, from: s.uid, serverTs: now, payload: f.payload })
    await this.ctx.engine.sendToChannel(s.appId, f.channel, frame, s.uid, audience)
    this.ctx.metrics.countRelayed('channel', receivers)
    this.ctx.result(s, f.reqId, null)
  }

  /**
   * The client is past these stored messages (and has seen the drop notices sent with them):
   * they go from the store. A message it holds for an earlier one is acknowledged later.
   */
  onOfflineAck(s: Session, ids: number[]): void {
    // Only what was handed to this session counts (and costs a store write).
    const acked = ids.filter((id) => s.offlineInFlight.delete(id))
    this.ctx.metrics.offlineDelivered.inc(acked.length)
    const drops = s.offlineDrops
    s.offlineDrops = []
    if (acked.length === 0 && drops.length === 0) return
    ids = acked
    this.ctx.metrics.offlineDropped.inc(drops.reduce((n, d) => n + d.count, 0))
    // Deleted, in order, before anything is listed again: nothing acknowledged goes twice.
    s.offlineRemoving = s.offlineRemoving.then(() =>
      this.ctx.engine.offline.remove(s.appId, s.uid, ids, drops).catch((err) => this.ctx.log.error({ err }, 'offline remove failed')),
    )
  }

  /**
   * Hands stored messages to a session, oldest first, before any live frame (the session is
   * not `ready` until then). Messages stay stored until the client acknowledges them; writes
   * for this receiver still under way are waited for, so none lands behind a live frame.
   */
  async deliverOffline(s: Session): Promise<void> {
    if (s.offlineLoading) {
      s.offlineAgain = true
      return
    }
    s.offlineLoading = true
    try {
      do {
        s.offlineAgain = false
        await this.ctx.engine.offline.settled(s.appId, s.uid)
        const removing = s.offlineRemoving
        await removing
        const listing = await this.ctx.engine.offline.list(s.appId, s.uid, this.ctx.config.offlinePerReceiver)
        if (s.ended || !s.socket) break
        // An acknowledgement came while the store was read: what it acknowledged (messages, drop
        // notices) may be in this listing, and would go again (its drop notices counted twice, by
        // the app and in the node's metric). Listed again once its deletions are done.
        if (s.offlineRemoving !== removing) {
          s.offlineAgain = true
          continue
        }
        // What is out already (a client holds a stored message until an earlier one arrives) is not sent twice.
        const messages = listing.messages.filter((m) => !s.offlineInFlight.has(m.id))
        const dropped = s.offlineDrops.length ? [] : listing.dropped
        if (messages.length === 0 && dropped.length === 0) continue
        if (dropped.length) s.offlineDrops = dropped
        for (let i = 0; i < Math.max(1, messages.length); i += OFFLINE_CHUNK) {
          const chunk = messages.slice(i, i + OFFLINE_CHUNK)
          for (const m of chunk) s.offlineInFlight.add(m.id)
          s.sendNow(encodeFrame({ type: FrameType.OFFLINE_MESSAGES, messages: chunk, dropped: i === 0 ? dropped : [] }))
        }
      } while (s.offlineAgain)
    } catch (err) {
      // The store is out of reach (Redis restarting, say): live frames go on, the stored ones a moment later.
      this.ctx.log.warn({ err, uid: s.uid }, 'offline delivery failed; trying again')
      this.ctx.rt.clock.setTimeout(() => {
        if (!s.ended) void this.deliverOffline(s)
      }, OFFLINE_RETRY_MS, true)
    } finally {
      s.offlineLoading = false
      if (!s.ready && !s.ended) {
        s.ready = true
        s.flush()
      }
    }
  }
}
