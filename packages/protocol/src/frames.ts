/**
 * Frames between a client and the rendezvous, over one WebSocket (binary messages).
 * Each frame: a varuint tag, then its fields. See PROTOCOL.md for the table.
 */
import { Decoder, Encoder } from './binary.js'
import { ErrorCode, ProtocolError, isErrorCode } from './errors.js'
import { isValidId } from './ids.js'
import { AttributeOp } from './attributes.js'
import { SyncKind } from './peer-frames.js'
import {
  MAX_ATTRIBUTE_KEYS,
  MAX_ATTRIBUTE_KEY_BYTES,
  MAX_ATTRIBUTE_VALUE_BYTES,
  MAX_DOC_PAYLOAD_BYTES,
  MAX_MEMBER_COUNT_CHANNELS,
  MAX_DESCRIPTION_BYTES,
  MAX_ID_BYTES,
  MAX_INVITATION_CONTENT_BYTES,
  MAX_IDS_PER_LIST,
  MAX_OFFLINE_BATCH,
  MAX_PEER_FRAME_BYTES,
  MAX_SIGNAL_BYTES,
  MAX_TOKEN_BYTES,
} from './limits.js'
import {
  INVITATION_FAILURE_REASONS,
  InvitationEventKind,
  InvitationFailureReason,
  PEER_ONLINE_STATES,
  PeerOnlineState,
  RelayStatus,
} from './states.js'

export enum FrameType {
  // client -> rendezvous
  LOGIN = 1,
  LOGOUT = 2,
  PING = 3,
  RENEW_TOKEN = 4,
  QUERY_PRESENCE = 5,
  SUBSCRIBE_PRESENCE = 6,
  UNSUBSCRIBE_PRESENCE = 7,
  SIGNAL_TO = 8,
  RELAY_TO = 9,
  OFFLINE_ACK = 10,
  JOIN_CHANNEL = 11,
  LEAVE_CHANNEL = 12,
  GET_MEMBERS = 13,
  GET_MEMBER_COUNTS = 14,
  /** A y-protocols sync message for the node's replica of a channel document. */
  CHANNEL_SYNC_TO_NODE = 15,
  CHANNEL_ATTRS_WRITE = 16,
  CHANNEL_ATTRS_GET = 17,
  USER_ATTRS_WRITE = 18,
  USER_ATTRS_GET = 19,
  USER_ATTRS_SUBSCRIBE = 20,
  USER_ATTRS_UNSUBSCRIBE = 21,
  INVITE_SEND = 22,
  INVITE_CANCEL = 23,
  /** The callee's client got the invitation (caller sees RECEIVED_BY_REMOTE). */
  INVITE_ACK = 24,
  INVITE_ANSWER = 25,
  // rendezvous -> client
  LOGIN_OK = 32,
  LOGIN_FAILED = 33,
  PONG = 34,
  RESULT = 35,
  PRESENCE_STATES = 36,
  SIGNAL_FROM = 37,
  SIGNAL_FAILED = 38,
  RELAY_FROM = 39,
  RELAY_RESULT = 40,
  OFFLINE_MESSAGES = 41,
  KICKED = 42,
  TOKEN_WILL_EXPIRE = 43,
  ERROR = 44,
  /** Answer to JOIN_CHANNEL and GET_MEMBERS: up to 512 members and the full count. */
  MEMBERS = 45,
  MEMBER_COUNTS = 46,
  MEMBER_EVENT = 47,
  MEMBER_COUNT_UPDATED = 48,
  CHANNEL_SYNC_FROM_NODE = 49,
  ATTRIBUTES = 50,
  USER_ATTRS_CHANGED = 51,
  INVITE_RECEIVED = 52,
  INVITE_EVENT = 53,
}

export interface PresenceEntry {
  uid: string
  state: PeerOnlineState
}

export interface OfflineMessage {
  /** Store-assigned id, unique per receiver; the client acknowledges it with OFFLINE_ACK. */
  id: number
  from: string
  serverTs: number
  payload: Uint8Array
}

export type LoginFrame = {
  type: FrameType.LOGIN
  version: number
  appId: string
  uid: string
  token: string
  /** Session id from an earlier LOGIN_OK, to resume it; '' for a fresh session. */
  resume: string
}
export type LogoutFrame = { type: FrameType.LOGOUT; reqId: number }
export type PingFrame = { type: FrameType.PING; ts: number }
export type RenewTokenFrame = { type: FrameType.RENEW_TOKEN; reqId: number; token: string }
export type QueryPresenceFrame = { type: FrameType.QUERY_PRESENCE; reqId: number; uids: string[] }
export type SubscribePresenceFrame = { type: FrameType.SUBSCRIBE_PRESENCE; reqId: number; uids: string[] }
export type UnsubscribePresenceFrame = { type: FrameType.UNSUBSCRIBE_PRESENCE; reqId: number; uids: string[] }
/** A WebRTC signal (JSON text from simple-peer) for one user; the node adds the sender. */
export type SignalToFrame = { type: FrameType.SIGNAL_TO; to: string; data: string }
/** A peer frame for one user through the node; reqId 0 asks for no RELAY_RESULT. */
export type RelayToFrame = { type: FrameType.RELAY_TO; reqId: number; to: string; offline: boolean; payload: Uint8Array }
export type OfflineAckFrame = { type: FrameType.OFFLINE_ACK; ids: number[] }

export type LoginOkFrame = {
  type: FrameType.LOGIN_OK
  sessionId: string
  resumed: boolean
  serverTs: number
  pingIntervalMs: number
  /** Token expiry, ms since epoch. */
  tokenExpiresAt: number
}
export type LoginFailedFrame = { type: FrameType.LOGIN_FAILED; code: ErrorCode; message: string }
export type PongFrame = { type: FrameType.PONG; ts: number; serverTs: number }
export type ResultFrame = { type: FrameType.RESULT; reqId: number; code: ErrorCode; message: string }
/** Answer to QUERY/SUBSCRIBE_PRESENCE (reqId > 0), or a change event (reqId 0). */
export type PresenceStatesFrame = { type: FrameType.PRESENCE_STATES; reqId: number; states: PresenceEntry[] }
export type SignalFromFrame = { type: FrameType.SIGNAL_FROM; from: string; data: string }
export type SignalFailedFrame = { type: FrameType.SIGNAL_FAILED; to: string; code: ErrorCode }
export type RelayFromFrame = { type: FrameType.RELAY_FROM; from: string; serverTs: number; payload: Uint8Array }
export type RelayResultFrame = { type: FrameType.RELAY_RESULT; reqId: number; status: RelayStatus; serverTs: number }
export type OfflineMessagesFrame = { type: FrameType.OFFLINE_MESSAGES; messages: OfflineMessage[] }
export type KickedFrame = { type: FrameType.KICKED; code: ErrorCode; message: string }
export type TokenWillExpireFrame = { type: FrameType.TOKEN_WILL_EXPIRE; expiresAt: number }
/** An unsolicited error: a frame that could not be answered otherwise (malformed, too often). */
export type ErrorFrame = { type: FrameType.ERROR; code: ErrorCode; message: string }

export interface AttributeEntry {
  key: string
  value: string
  /** Channel attributes only ('' for user attributes). */
  lastUpdateUserId: string
  lastUpdateTs: number
}

export type JoinChannelFrame = { type: FrameType.JOIN_CHANNEL; reqId: number; channel: string }
export type LeaveChannelFrame = { type: FrameType.LEAVE_CHANNEL; reqId: number; channel: string }
export type GetMembersFrame = { type: FrameType.GET_MEMBERS; reqId: number; channel: string }
export type GetMemberCountsFrame = { type: FrameType.GET_MEMBER_COUNTS; reqId: number; channels: string[] }
/** `kind`: SyncKind.DOC (y-protocols sync, applied to the node's replica) or AWARENESS (forwarded). */
export type ChannelSyncToNodeFrame = {
  type: FrameType.CHANNEL_SYNC_TO_NODE
  /** 0: no answer; else a RESULT once the node stored (or refused) the update. */
  reqId: number
  channel: string
  kind: SyncKind
  notify: boolean
  payload: Uint8Array
}
export type ChannelAttrsWriteFrame = {
  type: FrameType.CHANNEL_ATTRS_WRITE
  reqId: number
  channel: string
  op: AttributeOp
  attrs: [string, string][]
  keys: string[]
  notify: boolean
}
export type ChannelAttrsGetFrame = { type: FrameType.CHANNEL_ATTRS_GET; reqId: number; channel: string; keys: string[] }
export type UserAttrsWriteFrame = { type: FrameType.USER_ATTRS_WRITE; reqId: number; op: AttributeOp; attrs: [string, string][]; keys: string[] }
export type UserAttrsGetFrame = { type: FrameType.USER_ATTRS_GET; reqId: number; uid: string; keys: string[] }
export type UserAttrsSubscribeFrame = { type: FrameType.USER_ATTRS_SUBSCRIBE; reqId: number; uids: string[] }
export type UserAttrsUnsubscribeFrame = { type: FrameType.USER_ATTRS_UNSUBSCRIBE; reqId: number; uids: string[] }

export type MembersFrame = { type: FrameType.MEMBERS; reqId: number; channel: string; count: number; members: string[] }
export type MemberCountsFrame = { type: FrameType.MEMBER_COUNTS; reqId: number; counts: { channel: string; count: number }[] }
export type MemberEventFrame = { type: FrameType.MEMBER_EVENT; channel: string; uid: string; joined: boolean }
export type MemberCountUpdatedFrame = { type: FrameType.MEMBER_COUNT_UPDATED; channel: string; count: number }
export type ChannelSyncFromNodeFrame = {
  type: FrameType.CHANNEL_SYNC_FROM_NODE
  channel: string
  /** Who wrote it ('' when the node answers a sync step itself). */
  from: string
  kind: SyncKind
  notify: boolean
  payload: Uint8Array
}
export type AttributesFrame = { type: FrameType.ATTRIBUTES; reqId: number; attrs: AttributeEntry[] }
export type UserAttrsChangedFrame = { type: FrameType.USER_ATTRS_CHANGED; uid: string; attrs: AttributeEntry[] }

/** Invitations are named by caller + id (the caller's choice, unique among its own). */
export type InviteSendFrame = { type: FrameType.INVITE_SEND; reqId: number; id: string; callee: string; content: string; channel: string }
export type InviteCancelFrame = { type: FrameType.INVITE_CANCEL; reqId: number; id: string }
export type InviteAckFrame = { type: FrameType.INVITE_ACK; caller: string; id: string }
export type InviteAnswerFrame = { type: FrameType.INVITE_ANSWER; reqId: number; caller: string; id: string; accept: boolean; response: string }
export type InviteReceivedFrame = { type: FrameType.INVITE_RECEIVED; caller: string; id: string; content: string; channel: string }
/** To the caller (`peer` = callee) or the callee (`peer` = caller): what happened to invitation `id`. */
export type InviteEventFrame = {
  type: FrameType.INVITE_EVENT
  peer: string
  id: string
  /** True when this side is the caller. */
  outgoing: boolean
  event: InvitationEventKind
  reason: InvitationFailureReason | null
  response: string
}

export type ClientFrame =
  | LoginFrame
  | LogoutFrame
  | PingFrame
  | RenewTokenFrame
  | QueryPresenceFrame
  | SubscribePresenceFrame
  | UnsubscribePresenceFrame
  | SignalToFrame
  | RelayToFrame
  | OfflineAckFrame
  | JoinChannelFrame
  | LeaveChannelFrame
  | GetMembersFrame
  | GetMemberCountsFrame
  | ChannelSyncToNodeFrame
  | ChannelAttrsWriteFrame
  | ChannelAttrsGetFrame
  | UserAttrsWriteFrame
  | UserAttrsGetFrame
  | UserAttrsSubscribeFrame
  | UserAttrsUnsubscribeFrame
  | InviteSendFrame
  | InviteCancelFrame
  | InviteAckFrame
  | InviteAnswerFrame

export type ServerFrame =
  | LoginOkFrame
  | LoginFailedFrame
  | PongFrame
  | ResultFrame
  | PresenceStatesFrame
  | SignalFromFrame
  | SignalFailedFrame
  | RelayFromFrame
  | RelayResultFrame
  | OfflineMessagesFrame
  | KickedFrame
  | TokenWillExpireFrame
  | ErrorFrame
  | MembersFrame
  | MemberCountsFrame
  | MemberEventFrame
  | MemberCountUpdatedFrame
  | ChannelSyncFromNodeFrame
  | AttributesFrame
  | UserAttrsChangedFrame
  | InviteReceivedFrame
  | InviteEventFrame

export type Frame = ClientFrame | ServerFrame

const MAX_TEXT = 1024

function writeIds(e: Encoder, ids: string[]): void {
  e.varuint(ids.length)
  for (const id of ids) e.string(id)
}

function readId(d: Decoder): string {
  const id = d.string(MAX_ID_BYTES)
  if (!isValidId(id)) throw new ProtocolError(ErrorCode.INVALID_USER_ID, `invalid user id in frame`)
  return id
}

function readIds(d: Decoder): string[] {
  const n = d.count(MAX_IDS_PER_LIST)
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push(readId(d))
  return ids
}

function readChannel(d: Decoder): string {
  const id = d.string(MAX_ID_BYTES)
  if (!isValidId(id)) throw new ProtocolError(ErrorCode.INVALID_CHANNEL_ID, `invalid channel id in frame`)
  return id
}

function readChannels(d: Decoder, max: number): string[] {
  const n = d.count(max)
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(readChannel(d))
  return out
}

function writeStrings(e: Encoder, list: string[]): void {
  e.varuint(list.length)
  for (const s of list) e.string(s)
}

function readKeys(d: Decoder): string[] {
  const n = d.count(MAX_ATTRIBUTE_KEYS)
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(d.string(MAX_ATTRIBUTE_KEY_BYTES))
  return out
}

function writePairs(e: Encoder, pairs: [string, string][]): void {
  e.varuint(pairs.length)
  for (const [k, v] of pairs) {
    e.string(k)
    e.string(v)
  }
}

function readPairs(d: Decoder): [string, string][] {
  const n = d.count(MAX_ATTRIBUTE_KEYS)
  const out: [string, string][] = []
  for (let i = 0; i < n; i++) out.push([d.string(MAX_ATTRIBUTE_KEY_BYTES), d.string(MAX_ATTRIBUTE_VALUE_BYTES)])
  return out
}

function readSyncKind(d: Decoder): SyncKind {
  const k = d.uint8()
  if (k !== SyncKind.DOC && k !== SyncKind.AWARENESS) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown sync kind')
  return k
}

function readOp(d: Decoder): AttributeOp {
  const op = d.uint8()
  if (op > AttributeOp.CLEAR) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown attribute operation')
  return op
}

function writeEntries(e: Encoder, entries: AttributeEntry[]): void {
  e.varuint(entries.length)
  for (const a of entries) {
    e.string(a.key)
    e.string(a.value)
    e.string(a.lastUpdateUserId)
    e.varuint(a.lastUpdateTs)
  }
}

function readEntries(d: Decoder): AttributeEntry[] {
  const n = d.count(MAX_ATTRIBUTE_KEYS)
  const out: AttributeEntry[] = []
  for (let i = 0; i < n; i++) {
    out.push({
      key: d.string(MAX_ATTRIBUTE_KEY_BYTES),
      value: d.string(MAX_ATTRIBUTE_VALUE_BYTES),
      lastUpdateUserId: d.string(MAX_ID_BYTES),
      lastUpdateTs: d.varuint(),
    })
  }
  return out
}

function readInvitationId(d: Decoder): string {
  const id = d.string(MAX_ID_BYTES)
  if (!isValidId(id)) throw new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'invalid invitation id')
  return id
}

function readOptionalChannel(d: Decoder): string {
  const id = d.string(MAX_ID_BYTES)
  if (id !== '' && !isValidId(id)) throw new ProtocolError(ErrorCode.INVALID_CHANNEL_ID, 'invalid channel id')
  return id
}

function readCode(d: Decoder): ErrorCode {
  const c = d.varuint()
  if (!isErrorCode(c)) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, `unknown error code ${c}`)
  return c
}

function readPresenceState(d: Decoder): PeerOnlineState {
  const s = PEER_ONLINE_STATES[d.uint8()]
  if (s === undefined) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown presence state')
  return s
}

function readRelayStatus(d: Decoder): RelayStatus {
  const s = d.uint8()
  if (s > RelayStatus.PEER_OFFLINE) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown relay status')
  return s
}

export function encodeFrame(f: Frame): Uint8Array {
  const e = new Encoder(f.type === FrameType.RELAY_TO || f.type === FrameType.RELAY_FROM ? f.payload.length + 96 : 64)
  e.varuint(f.type)
  switch (f.type) {
    case FrameType.LOGIN:
      e.varuint(f.version)
      e.string(f.appId)
      e.string(f.uid)
      e.string(f.token)
      e.string(f.resume)
      break
    case FrameType.LOGOUT:
      e.varuint(f.reqId)
      break
    case FrameType.PING:
      e.varuint(f.ts)
      break
    case FrameType.RENEW_TOKEN:
      e.varuint(f.reqId)
      e.string(f.token)
      break
    case FrameType.QUERY_PRESENCE:
    case FrameType.SUBSCRIBE_PRESENCE:
    case FrameType.UNSUBSCRIBE_PRESENCE:
      e.varuint(f.reqId)
      writeIds(e, f.uids)
      break
    case FrameType.SIGNAL_TO:
      e.string(f.to)
      e.string(f.data)
      break
    case FrameType.RELAY_TO:
      e.varuint(f.reqId)
      e.string(f.to)
      e.bool(f.offline)
      e.bytes(f.payload)
      break
    case FrameType.OFFLINE_ACK:
      e.varuint(f.ids.length)
      for (const id of f.ids) e.varuint(id)
      break
    case FrameType.LOGIN_OK:
      e.string(f.sessionId)
      e.bool(f.resumed)
      e.varuint(f.serverTs)
      e.varuint(f.pingIntervalMs)
      e.varuint(f.tokenExpiresAt)
      break
    case FrameType.LOGIN_FAILED:
    case FrameType.KICKED:
    case FrameType.ERROR:
      e.varuint(f.code)
      e.string(f.message)
      break
    case FrameType.PONG:
      e.varuint(f.ts)
      e.varuint(f.serverTs)
      break
    case FrameType.RESULT:
      e.varuint(f.reqId)
      e.varuint(f.code)
      e.string(f.message)
      break
    case FrameType.PRESENCE_STATES:
      e.varuint(f.reqId)
      e.varuint(f.states.length)
      for (const s of f.states) {
        e.string(s.uid)
        e.uint8(PEER_ONLINE_STATES.indexOf(s.state))
      }
      break
    case FrameType.SIGNAL_FROM:
      e.string(f.from)
      e.string(f.data)
      break
    case FrameType.SIGNAL_FAILED:
      e.string(f.to)
      e.varuint(f.code)
      break
    case FrameType.RELAY_FROM:
      e.string(f.from)
      e.varuint(f.serverTs)
      e.bytes(f.payload)
      break
    case FrameType.RELAY_RESULT:
      e.varuint(f.reqId)
      e.uint8(f.status)
      e.varuint(f.serverTs)
      break
    case FrameType.OFFLINE_MESSAGES:
      e.varuint(f.messages.length)
      for (const m of f.messages) {
        e.varuint(m.id)
        e.string(m.from)
        e.varuint(m.serverTs)
        e.bytes(m.payload)
      }
      break
    case FrameType.TOKEN_WILL_EXPIRE:
      e.varuint(f.expiresAt)
      break
    case FrameType.JOIN_CHANNEL:
    case FrameType.LEAVE_CHANNEL:
    case FrameType.GET_MEMBERS:
      e.varuint(f.reqId)
      e.string(f.channel)
      break
    case FrameType.GET_MEMBER_COUNTS:
      e.varuint(f.reqId)
      writeStrings(e, f.channels)
      break
    case FrameType.CHANNEL_SYNC_TO_NODE:
      e.varuint(f.reqId)
      e.string(f.channel)
      e.uint8(f.kind)
      e.bool(f.notify)
      e.bytes(f.payload)
      break
    case FrameType.CHANNEL_SYNC_FROM_NODE:
      e.string(f.channel)
      e.string(f.from)
      e.uint8(f.kind)
      e.bool(f.notify)
      e.bytes(f.payload)
      break
    case FrameType.CHANNEL_ATTRS_WRITE:
      e.varuint(f.reqId)
      e.string(f.channel)
      e.uint8(f.op)
      writePairs(e, f.attrs)
      writeStrings(e, f.keys)
      e.bool(f.notify)
      break
    case FrameType.CHANNEL_ATTRS_GET:
      e.varuint(f.reqId)
      e.string(f.channel)
      writeStrings(e, f.keys)
      break
    case FrameType.USER_ATTRS_WRITE:
      e.varuint(f.reqId)
      e.uint8(f.op)
      writePairs(e, f.attrs)
      writeStrings(e, f.keys)
      break
    case FrameType.USER_ATTRS_GET:
      e.varuint(f.reqId)
      e.string(f.uid)
      writeStrings(e, f.keys)
      break
    case FrameType.USER_ATTRS_SUBSCRIBE:
    case FrameType.USER_ATTRS_UNSUBSCRIBE:
      e.varuint(f.reqId)
      writeIds(e, f.uids)
      break
    case FrameType.MEMBERS:
      e.varuint(f.reqId)
      e.string(f.channel)
      e.varuint(f.count)
      writeIds(e, f.members)
      break
    case FrameType.MEMBER_COUNTS:
      e.varuint(f.reqId)
      e.varuint(f.counts.length)
      for (const c of f.counts) {
        e.string(c.channel)
        e.varuint(c.count)
      }
      break
    case FrameType.MEMBER_EVENT:
      e.string(f.channel)
      e.string(f.uid)
      e.bool(f.joined)
      break
    case FrameType.MEMBER_COUNT_UPDATED:
      e.string(f.channel)
      e.varuint(f.count)
      break
    case FrameType.ATTRIBUTES:
      e.varuint(f.reqId)
      writeEntries(e, f.attrs)
      break
    case FrameType.USER_ATTRS_CHANGED:
      e.string(f.uid)
      writeEntries(e, f.attrs)
      break
    case FrameType.INVITE_SEND:
      e.varuint(f.reqId)
      e.string(f.id)
      e.string(f.callee)
      e.string(f.content)
      e.string(f.channel)
      break
    case FrameType.INVITE_CANCEL:
      e.varuint(f.reqId)
      e.string(f.id)
      break
    case FrameType.INVITE_ACK:
      e.string(f.caller)
      e.string(f.id)
      break
    case FrameType.INVITE_ANSWER:
      e.varuint(f.reqId)
      e.string(f.caller)
      e.string(f.id)
      e.bool(f.accept)
      e.string(f.response)
      break
    case FrameType.INVITE_RECEIVED:
      e.string(f.caller)
      e.string(f.id)
      e.string(f.content)
      e.string(f.channel)
      break
    case FrameType.INVITE_EVENT:
      e.string(f.peer)
      e.string(f.id)
      e.bool(f.outgoing)
      e.uint8(f.event)
      e.uint8(f.reason === null ? 255 : INVITATION_FAILURE_REASONS.indexOf(f.reason))
      e.string(f.response)
      break
    default:
      throw new TypeError(`cannot encode frame ${(f as Frame).type}`)
  }
  return e.finish()
}

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
    case FrameType.OFFLINE_ACK: {
      const n = d.count(MAX_OFFLINE_BATCH)
      const ids: number[] = []
      for (let i = 0; i < n; i++) ids.push(d.varuint())
      f = { type, ids }
      break
    }
    case FrameType.LOGIN_OK:
      f = {
        type,
        sessionId: d.string(MAX_ID_BYTES),
        resumed: d.bool(),
        serverTs: d.varuint(),
        pingIntervalMs: d.varuint(),
        tokenExpiresAt: d.varuint(),
      }
      break
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
      f = { type, messages }
      break
    }
    case FrameType.TOKEN_WILL_EXPIRE:
      f = { type, expiresAt: d.varuint() }
      break
    case FrameType.JOIN_CHANNEL:
    case FrameType.LEAVE_CHANNEL:
    case FrameType.GET_MEMBERS:
      f = { type, reqId: d.varuint(), channel: readChannel(d) }
      break
    case FrameType.GET_MEMBER_COUNTS:
      f = { type, reqId: d.varuint(), channels: readChannels(d, MAX_MEMBER_COUNT_CHANNELS) }
      break
    case FrameType.CHANNEL_SYNC_TO_NODE:
      f = { type, reqId: d.varuint(), channel: readChannel(d), kind: readSyncKind(d), notify: d.bool(), payload: d.bytes(MAX_DOC_PAYLOAD_BYTES) }
      break
    case FrameType.CHANNEL_SYNC_FROM_NODE: {
      const channel = readChannel(d)
      const from = d.string(MAX_ID_BYTES)
      if (from !== '' && !isValidId(from)) throw new ProtocolError(ErrorCode.INVALID_USER_ID, 'invalid user id in frame')
      f = { type, channel, from, kind: readSyncKind(d), notify: d.bool(), payload: d.bytes(MAX_DOC_PAYLOAD_BYTES) }
      break
    }
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
    case FrameType.MEMBERS:
      f = { type, reqId: d.varuint(), channel: readChannel(d), count: d.varuint(), members: readIds(d) }
      break
    case FrameType.MEMBER_COUNTS: {
      const reqId = d.varuint()
      const n = d.count(MAX_MEMBER_COUNT_CHANNELS)
      const counts: { channel: string; count: number }[] = []
      for (let i = 0; i < n; i++) counts.push({ channel: readChannel(d), count: d.varuint() })
      f = { type, reqId, counts }
      break
    }
    case FrameType.MEMBER_EVENT:
      f = { type, channel: readChannel(d), uid: readId(d), joined: d.bool() }
      break
    case FrameType.MEMBER_COUNT_UPDATED:
      f = { type, channel: readChannel(d), count: d.varuint() }
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
      const event = d.uint8()
      if (event > InvitationEventKind.FAILURE) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown invitation event')
      const r = d.uint8()
      const reason = r === 255 ? null : INVITATION_FAILURE_REASONS[r]
      if (reason === undefined) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'unknown failure reason')
      f = { type, peer, id, outgoing, event, reason, response: d.string(MAX_INVITATION_CONTENT_BYTES) }
      break
    }
    default:
      throw new ProtocolError(ErrorCode.UNKNOWN_FRAME, `unknown frame type ${type}`)
  }
  d.end()
  return f
}

const CLIENT_FRAME_TYPES = new Set<FrameType>([
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

// Re-exported for peer-frames.ts and callers that size buffers.
export { MAX_DESCRIPTION_BYTES }
