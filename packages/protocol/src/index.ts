export { Encoder, Decoder, utf8Length } from './binary.js'
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
} from './states.js'
export {
  FrameType,
  encodeFrame,
  decodeFrame,
  decodeClientFrame,
  decodeServerFrame,
  isClientFrame,
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
} from './frames.js'
export {
  PeerFrameType,
  MessageKind,
  MAX_STREAM_ID_BYTES,
  encodePeerFrame,
  decodePeerFrame,
  messageBodyBytes,
} from './peer-frames.js'
export type { PeerFrame, PeerMessageFrame, PeerAckFrame } from './peer-frames.js'
export { RateBucket } from './rate-limit.js'
export { mintToken, verifyToken, readTokenClaims } from './token.js'
export type { TokenClaims, MintTokenOptions } from './token.js'
