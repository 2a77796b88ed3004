/**
 * Frames between a client and the rendezvous, over one WebSocket (binary messages): their tags
 * and shapes. The codec is in frames.ts; PROTOCOL.md has the table.
 */
import type { ErrorCode } from './errors.js'
import type { MemberCert } from './overlay-frames.js'
import type { AttributeOp } from './attributes.js'
import type { SyncKind } from './peer-frames.js'
import type { SeqRange } from './ranges.js'
import type { InvitationEventKind, InvitationFailureReason, PeerOnlineState, RelayStatus } from './states.js'

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
  /** A channel message for every member, fanned out by the node (channels above 512 members). */
  CHANNEL_BROADCAST = 26,
  /** After frames were lost: where do these invitations stand? */
  INVITE_SYNC = 27,
  /** A moderator removes or mutes a member of a channel (its grant allows moderating it). */
  MODERATE = 28,
  /** Several client frames in one WebSocket message (protocol 3): what a client sends in one turn. */
  BATCH = 29,
  /** Protocol 4: a member asks for other members to link to in the channel overlay. */
  OVERLAY_CANDIDATES = 30,
  /** Protocol 4: a channel message (on a broadcast stream) for the members outside the channel's overlay, fanned out by the node. */
  OVERLAY_OUTSIDE_SEND = 31,
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
  INVITE_SYNC_RESULT = 54,
  /** A member's role and whether its channel messages count (muted, or its grant does not allow publishing). */
  MEMBER_STATE = 55,
  /** These relay requests were relayed (protocol 3): one frame per turn instead of a RELAY_RESULT each. */
  RELAYED = 56,
  /** Protocol 4: the answer to OVERLAY_CANDIDATES. */
  OVERLAY_CANDIDATES_RESULT = 57,
  /** Protocol 4: how many members of a channel are outside its overlay (to its overlay members). */
  OVERLAY_OUTSIDE = 58,
}

/** What a moderator does to a channel member. */
export enum ModerationAction {
  /** Out of the channel (MemberLeft for all), and refused if it joins again for `seconds`. */
  REMOVE = 0,
  /** Its channel messages are dropped by the node and by every member, for `seconds` (0: until unmuted). */
  MUTE = 1,
  UNMUTE = 2,
}

export interface PresenceEntry {
  uid: string
  state: PeerOnlineState
}

/** Stored messages of one sender's stream that the per-receiver cap dropped before delivery. */
export interface OfflineDrop {
  from: string
  stream: string
  /** The dropped seqs (most recent ranges; the receiver stops waiting for them). */
  ranges: SeqRange[]
  /** How many messages were dropped in all. */
  count: number
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
/** Encoded client frames, each handled as if it had come alone, in order (no BATCH inside). */
export type BatchFrame = { type: FrameType.BATCH; frames: Uint8Array[] }

export type LoginOkFrame = {
  type: FrameType.LOGIN_OK
  sessionId: string
  resumed: boolean
  serverTs: number
  pingIntervalMs: number
  /** Token expiry, ms since epoch. */
  tokenExpiresAt: number
  /**
   * Frames for the session may have been lost (written to a socket that died, or past the
   * detached queue's bound): the client must resynchronise members, documents, awareness,
   * presence and invitations. Always true on a resume.
   */
  resync: boolean
  /** Protocol 4 sessions: the key the node signs overlay member certificates with (trailing, absent for older sessions). */
  nodeKey?: NodeOverlayKey
}
/** The node's Ed25519 public key for overlay certificates of the session's app, and its id. */
export interface NodeOverlayKey {
  /** 16 hex digits: the first 8 bytes of SHA-256 of the key. */
  id: string
  /** Raw Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array
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
/** Each of `reqIds` (ascending) has the answer RELAY_RESULT RELAYED at `serverTs`. */
export type RelayedFrame = { type: FrameType.RELAYED; serverTs: number; reqIds: number[] }
/** Stored messages, oldest first; `dropped` (first batch only) tells what the cap dropped. */
export type OfflineMessagesFrame = { type: FrameType.OFFLINE_MESSAGES; messages: OfflineMessage[]; dropped: OfflineDrop[] }
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

export type JoinChannelFrame = {
  type: FrameType.JOIN_CHANNEL
  reqId: number
  channel: string
  /** Protocol 4, trailing: the member's overlay Ed25519 public key (32 bytes) for the node to certify. */
  overlayKey?: Uint8Array
}
export type LeaveChannelFrame = { type: FrameType.LEAVE_CHANNEL; reqId: number; channel: string }
export type GetMembersFrame = { type: FrameType.GET_MEMBERS; reqId: number; channel: string }
export type GetMemberCountsFrame = { type: FrameType.GET_MEMBER_COUNTS; reqId: number; channels: string[] }
/** `kind`: SyncKind.DOC (y-protocols sync, applied to the node's replica) or AWARENESS (forwarded). */
export type ChannelSyncToNodeFrame = {
  type: FrameType.CHANNEL_SYNC_TO_NODE
  /** 0: no answer; else a RESULT once the node stored (or refused) the update. */
  reqId: number
  channel: string
  /** The document generation the payload belongs to (see PROTOCOL.md, channel documents). */
  epoch: number
  kind: SyncKind
  notify: boolean
  payload: Uint8Array
}
/** A channel message (a peer MESSAGE frame on a broadcast stream) for every other member. */
export type ChannelBroadcastFrame = { type: FrameType.CHANNEL_BROADCAST; reqId: number; channel: string; payload: Uint8Array }
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

export type MembersFrame = {
  type: FrameType.MEMBERS
  reqId: number
  channel: string
  count: number
  members: string[]
  /** Protocol 4, trailing: the joiner's certificate, in the answer to a JOIN_CHANNEL that carried an overlay key. */
  cert?: MemberCert
}
/** Protocol 4: up to `max` (≤ MAX_OVERLAY_CANDIDATES) random other members of a channel the asker is in. */
export type OverlayCandidatesFrame = { type: FrameType.OVERLAY_CANDIDATES; reqId: number; channel: string; max: number }
/** A candidate and its certificate when the node holds one (it issued it and it has not expired). */
export interface OverlayCandidate {
  uid: string
  cert: MemberCert | null
}
/** Protocol 4: `payload` (a MESSAGE on a broadcast stream) goes to the channel's members outside its overlay. */
export type OverlayOutsideSendFrame = { type: FrameType.OVERLAY_OUTSIDE_SEND; reqId: number; channel: string; payload: Uint8Array }
/** Protocol 4: members of `channel` outside its overlay (joined without an overlay key); a higher `version` is newer. */
export type OverlayOutsideFrame = { type: FrameType.OVERLAY_OUTSIDE; channel: string; count: number; version: number }
export type OverlayCandidatesResultFrame = { type: FrameType.OVERLAY_CANDIDATES_RESULT; reqId: number; channel: string; candidates: OverlayCandidate[] }
export type MemberCountsFrame = { type: FrameType.MEMBER_COUNTS; reqId: number; counts: { channel: string; count: number }[] }
/** `count`: the member count after this event (clients above 512 stop tracking individual members). */
export type MemberEventFrame = { type: FrameType.MEMBER_EVENT; channel: string; uid: string; joined: boolean; count: number }
export type MemberCountUpdatedFrame = { type: FrameType.MEMBER_COUNT_UPDATED; channel: string; count: number }
export type ChannelSyncFromNodeFrame = {
  type: FrameType.CHANNEL_SYNC_FROM_NODE
  channel: string
  /** Who wrote it ('' when the node answers a sync step itself). */
  from: string
  /** The node's current generation of the document; a member on another one starts over from the node's. */
  epoch: number
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

/** Outgoing invitation ids and incoming (caller, id) pairs whose state the client asks for. */
export type InviteSyncFrame = { type: FrameType.INVITE_SYNC; reqId: number; outgoing: string[]; incoming: { caller: string; id: string }[] }
/**
 * The latest event of each invitation asked about. `event` null: nothing new (still under way);
 * `known` false: the node has no record of it (ended long ago or never arrived).
 */
export interface InviteSyncEntry {
  peer: string
  id: string
  outgoing: boolean
  known: boolean
  event: InvitationEventKind | null
  reason: InvitationFailureReason | null
  response: string
}
export type InviteSyncResultFrame = { type: FrameType.INVITE_SYNC_RESULT; reqId: number; entries: InviteSyncEntry[] }
export type ModerateFrame = { type: FrameType.MODERATE; reqId: number; channel: string; uid: string; action: ModerationAction; seconds: number }
/**
 * A member's standing in a channel, from the node: its role (from its token, '' for none),
 * whether it is muted, and whether its channel messages are to be taken at all (not muted, and
 * its token allows publishing there). Sent to members when it changes and to a joiner for every
 * member not in the default state; `uid` the joiner itself: its own standing.
 */
export type MemberStateFrame = { type: FrameType.MEMBER_STATE; channel: string; uid: string; role: string; muted: boolean; mayPublish: boolean }

export type ClientFrame =
  | BatchFrame
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
  | ChannelBroadcastFrame
  | OverlayOutsideSendFrame
  | InviteSyncFrame
  | ModerateFrame
  | OverlayCandidatesFrame

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
  | RelayedFrame
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
  | InviteSyncResultFrame
  | MemberStateFrame
  | OverlayCandidatesResultFrame
  | OverlayOutsideFrame

export type Frame = ClientFrame | ServerFrame
