/** Decoding of client ↔ rendezvous frames: strict, capped, never reads past the end. */
import { Decoder } from './binary.js'
import { ErrorCode, ProtocolError } from './errors.js'
import {
  MAX_DOC_PAYLOAD_BYTES,
  MAX_MEMBER_COUNT_CHANNELS,
  MAX_ID_BYTES,
  MAX_INVITATION_CONTENT_BYTES,
  MAX_INVITE_SYNC,
  MAX_IDS_PER_LIST,
  MAX_OFFLINE_BATCH,
  MAX_OFFLINE_DROPS,
  MAX_BATCH_FRAMES,
  MAX_PEER_FRAME_BYTES,
  MAX_SIGNAL_BYTES,
  MAX_TOKEN_BYTES,
  MAX_OVERLAY_CANDIDATES,
  MAX_OVERLAY_KEY_FIELD_BYTES,
} from './limits.js'
import { MAX_STREAM_ID_BYTES } from './peer-frames.js'
import { readRanges } from './ranges.js'
import { ED25519_PUBLIC_KEY_BYTES, readMemberCert } from './overlay-frames.js'
import {
  MAX_TEXT,
  readChannel,
  readChannels,
  readCode,
  readEntries,
  readId,
  readIds,
  readInvitationEvent,
  readInvitationId,
  readKeys,
  readOp,
  readOptionalChannel,
  readOptionalId,
  readPairs,
  readPresenceState,
  readRelayStatus,
  readSyncKind,
} from './frame-fields.js'
import {
  FrameType,
  ModerationAction,
  type ClientFrame,
  type Frame,
  type InviteSyncEntry,
  type JoinChannelFrame,
  type LoginOkFrame,
  type MembersFrame,
  type OverlayCandidate,
  type OfflineDrop,
  type OfflineMessage,
  type PresenceEntry,
  type ServerFrame,
} from './frame-types.js'

/** Decodes one frame; throws ProtocolError with a code for anything that is not a valid frame. */
export function decodeFrame(bytes: Uint8Array): Frame {
  const d = new Decoder(bytes)
  const type = d.varuint()
  let f: Frame
  switch (type) {
    case FrameType.LOGIN:
      f = {
        type,
        version: d.varuint(),
        appId: d.string(MAX_ID_BYTES),
        uid: d.string(MAX_ID_BYTES),
        token: d.string(MAX_TOKEN_BYTES),
        resume: d.string(MAX_ID_BYTES),
      }
      break
    case FrameType.LOGOUT:
      f = { type, reqId: d.varuint() }
      break
    case FrameType.PING:
      f = { type, ts: d.varuint() }
      break
    case FrameType.RENEW_TOKEN:
      f = { type, reqId: d.varuint(), token: d.string(MAX_TOKEN_BYTES) }
      break
    case FrameType.QUERY_PRESENCE:
    case FrameType.SUBSCRIBE_PRESENCE:
    case FrameType.UNSUBSCRIBE_PRESENCE:
      f = { type, reqId: d.varuint(), uids: readIds(d) }
      break
    case FrameType.SIGNAL_TO:
      f = { type, to: readId(d), data: d.string(MAX_SIGNAL_BYTES) }
      break
    case FrameType.RELAY_TO:
      f = { type, reqId: d.varuint(), to: readId(d), offline: d.bool(), payload: d.bytes(MAX_PEER_FRAME_BYTES) }
      break
    case FrameType.BATCH: {
      const n = d.count(MAX_BATCH_FRAMES)
      const frames: Uint8Array[] = []
      for (let i = 0; i < n; i++) frames.push(d.bytes(MAX_PEER_FRAME_BYTES + 1024))
      f = { type, frames }
      break
    }
    case FrameType.RELAYED: {
      const serverTs = d.varuint()
      const n = d.count(MAX_BATCH_FRAMES)
      const reqIds: number[] = []
      for (let i = 0, id = 0; i < n; i++) reqIds.push((id += d.varuint()))
      f = { type, serverTs, reqIds }
      break
    }
    case FrameType.OFFLINE_ACK: {
      const n = d.count(MAX_OFFLINE_BATCH)
      const ids: number[] = []
      for (let i = 0; i < n; i++) ids.push(d.varuint())
      f = { type, ids }
      break
    }
    case FrameType.LOGIN_OK: {
      const ok: LoginOkFrame = {
        type,
        sessionId: d.string(MAX_ID_BYTES),
        resumed: d.bool(),
        serverTs: d.varuint(),
        pingIntervalMs: d.varuint(),
        tokenExpiresAt: d.varuint(),
        resync: d.bool(),
      }
      if (d.remaining > 0) {
        const id = d.string(MAX_ID_BYTES)
        const publicKey = d.bytes(ED25519_PUBLIC_KEY_BYTES)
        if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'node key must be 32 bytes')
        ok.nodeKey = { id, publicKey }
      }
      f = ok
      break
    }
    case FrameType.LOGIN_FAILED:
    case FrameType.KICKED:
    case FrameType.ERROR:
      f = { type, code: readCode(d), message: d.string(MAX_TEXT) }
      break
    case FrameType.PONG:
      f = { type, ts: d.varuint(), serverTs: d.varuint() }
      break
    case FrameType.RESULT:
      f = { type, reqId: d.varuint(), code: readCode(d), message: d.string(MAX_TEXT) }
      break
    case FrameType.PRESENCE_STATES: {
      const reqId = d.varuint()
      const n = d.count(MAX_IDS_PER_LIST)
      const states: PresenceEntry[] = []
      for (let i = 0; i < n; i++) states.push({ uid: readId(d), state: readPresenceState(d) })
      f = { type, reqId, states }
      break
    }
    case FrameType.SIGNAL_FROM:
      f = { type, from: readId(d), data: d.string(MAX_SIGNAL_BYTES) }
      break
    case FrameType.SIGNAL_FAILED:
      f = { type, to: readId(d), code: readCode(d) }
      break
    case FrameType.RELAY_FROM:
      f = { type, from: readId(d), serverTs: d.varuint(), payload: d.bytes(MAX_PEER_FRAME_BYTES) }
      break
    case FrameType.RELAY_RESULT:
      f = { type, reqId: d.varuint(), status: readRelayStatus(d), serverTs: d.varuint() }
      break
    case FrameType.OFFLINE_MESSAGES: {
      const n = d.count(MAX_OFFLINE_BATCH)
      const messages: OfflineMessage[] = []
      for (let i = 0; i < n; i++) {
        messages.push({ id: d.varuint(), from: readId(d), serverTs: d.varuint(), payload: d.bytes(MAX_PEER_FRAME_BYTES) })
      }
      const dropped: OfflineDrop[] = []
      const k = d.count(MAX_OFFLINE_DROPS)
      for (let i = 0; i < k; i++) {
        dropped.push({ from: readId(d), stream: d.string(MAX_STREAM_ID_BYTES), ranges: readRanges(d), count: d.varuint() })
      }
      f = { type, messages, dropped }
      break
    }
    case FrameType.TOKEN_WILL_EXPIRE:
      f = { type, expiresAt: d.varuint() }
      break
    case FrameType.JOIN_CHANNEL: {
      const join: JoinChannelFrame = { type, reqId: d.varuint(), channel: readChannel(d) }
      // Any length up to the cap: the node answers a key that is not 32 bytes with INVALID_ARGUMENT.
      if (d.remaining > 0) join.overlayKey = d.bytes(MAX_OVERLAY_KEY_FIELD_BYTES)
      f = join
      break
    }
    case FrameType.LEAVE_CHANNEL:
    case FrameType.GET_MEMBERS:
      f = { type, reqId: d.varuint(), channel: readChannel(d) }
      break
    case FrameType.GET_MEMBER_COUNTS:
      f = { type, reqId: d.varuint(), channels: readChannels(d, MAX_MEMBER_COUNT_CHANNELS) }
      break
    case FrameType.CHANNEL_SYNC_TO_NODE:
      f = {
        type,
        reqId: d.varuint(),
        channel: readChannel(d),
        epoch: d.varuint(),
        kind: readSyncKind(d),
        notify: d.bool(),
        payload: d.bytes(MAX_DOC_PAYLOAD_BYTES),
      }
      break
    case FrameType.CHANNEL_SYNC_FROM_NODE:
      f = {
        type,
        channel: readChannel(d),
        from: readOptionalId(d),
        epoch: d.varuint(),
        kind: readSyncKind(d),
        notify: d.bool(),
        payload: d.bytes(MAX_DOC_PAYLOAD_BYTES),
      }
      break
    case FrameType.CHANNEL_ATTRS_WRITE:
      f = { type, reqId: d.varuint(), channel: readChannel(d), op: readOp(d), attrs: readPairs(d), keys: readKeys(d), notify: d.bool() }
      break
    case FrameType.CHANNEL_ATTRS_GET:
      f = { type, reqId: d.varuint(), channel: readChannel(d), keys: readKeys(d) }
      break
    case FrameType.USER_ATTRS_WRITE:
      f = { type, reqId: d.varuint(), op: readOp(d), attrs: readPairs(d), keys: readKeys(d) }
      break
    case FrameType.USER_ATTRS_GET:
      f = { type, reqId: d.varuint(), uid: readId(d), keys: readKeys(d) }
      break
    case FrameType.USER_ATTRS_SUBSCRIBE:
    case FrameType.USER_ATTRS_UNSUBSCRIBE:
      f = { type, reqId: d.varuint(), uids: readIds(d) }
      break
    case FrameType.MEMBERS: {
      const members: MembersFrame = { type, reqId: d.varuint(), channel: readChannel(d), count: d.varuint(), members: readIds(d) }
      if (d.remaining > 0) members.cert = readMemberCert(d)
      f = members
      break
    }
    case FrameType.MEMBER_COUNTS: {
      const reqId = d.varuint()
      const n = d.count(MAX_MEMBER_COUNT_CHANNELS)
      const counts: { channel: string; count: number }[] = []
      for (let i = 0; i < n; i++) counts.push({ channel: readChannel(d), count: d.varuint() })
      f = { type, reqId, counts }
      break
    }
    case FrameType.MEMBER_EVENT:
      f = { type, channel: readChannel(d), uid: readId(d), joined: d.bool(), count: d.varuint() }
      break
    case FrameType.MEMBER_COUNT_UPDATED:
      f = { type, channel: readChannel(d), count: d.varuint() }
      break
    case FrameType.OVERLAY_OUTSIDE:
      f = { type, channel: readChannel(d), count: d.varuint(), version: d.varuint() }
      break
    case FrameType.ATTRIBUTES:
      f = { type, reqId: d.varuint(), attrs: readEntries(d) }
      break
    case FrameType.USER_ATTRS_CHANGED:
      f = { type, uid: readId(d), attrs: readEntries(d) }
      break
    case FrameType.INVITE_SEND:
      f = {
        type,
        reqId: d.varuint(),
        id: readInvitationId(d),
        callee: readId(d),
        content: d.string(MAX_INVITATION_CONTENT_BYTES),
        channel: readOptionalChannel(d),
      }
      break
    case FrameType.INVITE_CANCEL:
      f = { type, reqId: d.varuint(), id: readInvitationId(d) }
      break
    case FrameType.INVITE_ACK:
      f = { type, caller: readId(d), id: readInvitationId(d) }
      break
    case FrameType.INVITE_ANSWER:
      f = { type, reqId: d.varuint(), caller: readId(d), id: readInvitationId(d), accept: d.bool(), response: d.string(MAX_INVITATION_CONTENT_BYTES) }
      break
    case FrameType.INVITE_RECEIVED:
      f = { type, caller: readId(d), id: readInvitationId(d), content: d.string(MAX_INVITATION_CONTENT_BYTES), channel: readOptionalChannel(d) }
      break
    case FrameType.INVITE_EVENT: {
      const peer = readId(d)
      const id = readInvitationId(d)
      const outgoing = d.bool()
      const { event, reason } = readInvitationEvent(d, false)
      f = { type, peer, id, outgoing, event: event!, reason, response: d.string(MAX_INVITATION_CONTENT_BYTES) }
      break
    }
    case FrameType.CHANNEL_BROADCAST:
    case FrameType.OVERLAY_OUTSIDE_SEND:
      f = { type, reqId: d.varuint(), channel: readChannel(d), payload: d.bytes(MAX_PEER_FRAME_BYTES) }
      break
    case FrameType.INVITE_SYNC: {
      const reqId = d.varuint()
      const outgoing: string[] = []
      const n = d.count(MAX_INVITE_SYNC)
      for (let i = 0; i < n; i++) outgoing.push(readInvitationId(d))
      const incoming: { caller: string; id: string }[] = []
      const m = d.count(MAX_INVITE_SYNC)
      for (let i = 0; i < m; i++) incoming.push({ caller: readId(d), id: readInvitationId(d) })
      f = { type, reqId, outgoing, incoming }
      break
    }
    case FrameType.INVITE_SYNC_RESULT: {
      const reqId = d.varuint()
      const entries: InviteSyncEntry[] = []
      const n = d.count(2 * MAX_INVITE_SYNC)
      for (let i = 0; i < n; i++) {
        const peer = readId(d)
        const id = readInvitationId(d)
        const outgoing = d.bool()
        const known = d.bool()
        const { event, reason } = readInvitationEvent(d, true)
        entries.push({ peer, id, outgoing, known, event, reason, response: d.string(MAX_INVITATION_CONTENT_BYTES) })
      }
      f = { type, reqId, entries }
      break
    }
    case FrameType.MODERATE: {
      const reqId = d.varuint()
      const channel = readChannel(d)
      const uid = readId(d)
      const action = d.varuint()
      if (!(action in ModerationAction)) throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, `unknown moderation action ${action}`)
      f = { type, reqId, channel, uid, action, seconds: d.varuint() }
      break
    }
    case FrameType.MEMBER_STATE:
      f = { type, channel: readChannel(d), uid: readId(d), role: d.string(MAX_ID_BYTES), muted: d.bool(), mayPublish: d.bool() }
      break
    // ---- channel overlay (protocol 4) ----
    case FrameType.OVERLAY_CANDIDATES: {
      const reqId = d.varuint()
      const channel = readChannel(d)
      const max = d.varuint()
      if (max < 1 || max > MAX_OVERLAY_CANDIDATES) throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, `ask for 1 to ${MAX_OVERLAY_CANDIDATES} candidates`)
      f = { type, reqId, channel, max }
      break
    }
    case FrameType.OVERLAY_CANDIDATES_RESULT: {
      const reqId = d.varuint()
      const channel = readChannel(d)
      const n = d.count(MAX_OVERLAY_CANDIDATES)
      const candidates: OverlayCandidate[] = []
      for (let i = 0; i < n; i++) candidates.push({ uid: readId(d), cert: d.bool() ? readMemberCert(d) : null })
      f = { type, reqId, channel, candidates }
      break
    }
    default:
      throw new ProtocolError(ErrorCode.UNKNOWN_FRAME, `unknown frame type ${type}`)
  }
  d.end()
  return f
}

const CLIENT_FRAME_TYPES = new Set<FrameType>([
  FrameType.BATCH,
  FrameType.LOGIN,
  FrameType.LOGOUT,
  FrameType.PING,
  FrameType.RENEW_TOKEN,
  FrameType.QUERY_PRESENCE,
  FrameType.SUBSCRIBE_PRESENCE,
  FrameType.UNSUBSCRIBE_PRESENCE,
  FrameType.SIGNAL_TO,
  FrameType.RELAY_TO,
  FrameType.OFFLINE_ACK,
  FrameType.JOIN_CHANNEL,
  FrameType.LEAVE_CHANNEL,
  FrameType.GET_MEMBERS,
  FrameType.GET_MEMBER_COUNTS,
  FrameType.CHANNEL_SYNC_TO_NODE,
  FrameType.CHANNEL_ATTRS_WRITE,
  FrameType.CHANNEL_ATTRS_GET,
  FrameType.USER_ATTRS_WRITE,
  FrameType.USER_ATTRS_GET,
  FrameType.USER_ATTRS_SUBSCRIBE,
  FrameType.USER_ATTRS_UNSUBSCRIBE,
  FrameType.INVITE_SEND,
  FrameType.INVITE_CANCEL,
  FrameType.INVITE_ACK,
  FrameType.INVITE_ANSWER,
  FrameType.CHANNEL_BROADCAST,
  FrameType.INVITE_SYNC,
  FrameType.MODERATE,
  FrameType.OVERLAY_CANDIDATES,
  FrameType.OVERLAY_OUTSIDE_SEND,
])

export function isClientFrame(f: Frame): f is ClientFrame {
  return CLIENT_FRAME_TYPES.has(f.type)
}

/** Decodes a frame a client may send; a server frame sent by a client is UNEXPECTED_FRAME. */
export function decodeClientFrame(bytes: Uint8Array): ClientFrame {
  const f = decodeFrame(bytes)
  if (!isClientFrame(f)) throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, `frame ${FrameType[f.type]} is not sent by clients`)
  return f
}

export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  const f = decodeFrame(bytes)
  if (isClientFrame(f)) throw new ProtocolError(ErrorCode.UNEXPECTED_FRAME, `frame ${FrameType[f.type]} is not sent by nodes`)
  return f
}

/**
 * The reqId of an answer frame, read without decoding the rest (0 when it has none or the bytes
 * are not even that): lets a client fail the request an undecodable answer was meant for.
 */
export function peekRequestId(bytes: Uint8Array): number {
  try {
    const d = new Decoder(bytes)
    const type = d.varuint()
    return REQUEST_ANSWERS.has(type) ? d.varuint() : 0
  } catch {
    return 0
  }
}

/** Node frames whose first field is the reqId of the request they answer. */
const REQUEST_ANSWERS = new Set<number>([
  FrameType.RESULT,
  FrameType.PRESENCE_STATES,
  FrameType.RELAY_RESULT,
  FrameType.MEMBERS,
  FrameType.MEMBER_COUNTS,
  FrameType.ATTRIBUTES,
  FrameType.INVITE_SYNC_RESULT,
  FrameType.OVERLAY_CANDIDATES_RESULT,
])
