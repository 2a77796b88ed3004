export { Encoder, Decoder, utf8Length, setByteAllocator } from './binary.js'
export { deferOn, systemClock } from './clock.js'
export type { Clock, TimerHandle, TurnScheduler } from './clock.js'
export type { SeqRange } from './ranges.js'
export { mergeRanges, sameRanges } from './ranges.js'
export { ErrorCode, CloseCode, PlazaError, ProtocolError, isErrorCode } from './errors.js'
export { isValidId, assertUserId, assertChannelId } from './ids.js'
export * from './limits.js'
export {
  ConnectionState,
  ConnectionChangeReason,
  PeerMessageState,
  PeerOnlineState,
  PEER_ONLINE_STATES,
  RelayStatus,
  LocalInvitationState,
  RemoteInvitationState,
  InvitationFailureReason,
  InvitationEventKind,
} from './states.js'
export {
  FrameType,
  ModerationAction,
  encodeFrame,
  decodeFrame,
  decodeClientFrame,
  decodeServerFrame,
  isClientFrame,
  peekRequestId,
} from './frames.js'
export type {
  Frame,
  ClientFrame,
  ServerFrame,
  PresenceEntry,
  OfflineMessage,
  LoginFrame,
  LoginOkFrame,
  RelayToFrame,
  RelayFromFrame,
  SignalToFrame,
  SignalFromFrame,
  ResultFrame,
  PresenceStatesFrame,
  OfflineMessagesFrame,
  KickedFrame,
  ErrorFrame,
  AttributeEntry,
  MembersFrame,
  MemberEventFrame,
  AttributesFrame,
  ChannelSyncFromNodeFrame,
  ChannelSyncToNodeFrame,
  ChannelAttrsWriteFrame,
  UserAttrsChangedFrame,
  InviteEventFrame,
  InviteReceivedFrame,
  InviteSyncEntry,
  ChannelBroadcastFrame,
  InviteSyncFrame,
  InviteSyncResultFrame,
  ModerateFrame,
  MemberStateFrame,
  OfflineDrop,
  NodeOverlayKey,
  JoinChannelFrame,
  OverlayCandidatesFrame,
  OverlayCandidatesResultFrame,
  OverlayOutsideFrame,
  OverlayOutsideSendFrame,
  OverlayCandidate,
} from './frames.js'
export {
  PeerFrameType,
  MessageKind,
  SyncKind,
  MAX_STREAM_ID_BYTES,
  NODE_STREAM_PREFIX,
  BROADCAST_STREAM_PREFIX,
  encodePeerFrame,
  decodePeerFrame,
  messageBodyBytes,
  peekMessageChannel,
  peekMessageHeader,
} from './peer-frames.js'
export type { OverlayAfter, PeerFrame, PeerMessageFrame, PeerAckFrame, PeerSyncFrame } from './peer-frames.js'
export { RateBucket } from './rate-limit.js'
export {
  AttributeOp,
  CHANNEL_ATTRIBUTES_MAP,
  checkAttributeKey,
  checkAttributeWrite,
  applyAttributeWrite,
  checkAttributeTotals,
  readChannelAttributes,
  writeChannelAttributes,
} from './attributes.js'
export type { ChannelAttribute, AttributeScope, AttributeMapLike } from './attributes.js'
export { mintToken, verifyToken, readTokenClaims, channelAllowed } from './token.js'
export { AWARENESS_UID_FIELD, awarenessStateAllowed, awarenessUidOf, decodeAwarenessUpdate, encodeAwarenessUpdate, ownAwarenessEntries } from './awareness.js'
export type { AwarenessEntry } from './awareness.js'
export type { TokenClaims, MintTokenOptions, Grants } from './token.js'
export * from './media-frames.js'
export * from './overlay-frames.js'
export { overlayMessageSigningBytes, overlayCertSigningBytes, issueOverlayCert, verifyOverlayCert } from './overlay-sign.js'
export type { SignedMessageFields, OverlaySignFn, OverlayVerifyFn } from './overlay-sign.js'
export * from './link-frames.js'
