/**
 * The SDK's status enums, with agora-rtm-sdk 1.5.1's names and values. TypeScript treats two enums
 * of the same name and members as compatible, so these (and the same-named enums of
 * @plaza/protocol) assign to `RtmStatusCode.*` in the SDK's own index.d.ts.
 */
export {
  ConnectionChangeReason,
  ConnectionState,
  LocalInvitationState,
  PeerOnlineState,
  RemoteInvitationState,
} from '@plaza/protocol'

export enum LocalInvitationFailureReason {
  UNKNOWN = 'UNKNOWN',
  PEER_NO_RESPONSE = 'PEER_NO_RESPONSE',
  INVITATION_EXPIRE = 'INVITATION_EXPIRE',
  PEER_OFFLINE = 'PEER_OFFLINE',
  NOT_LOGGEDIN = 'NOT_LOGGEDIN',
}

export enum RemoteInvitationFailureReason {
  UNKNOWN = 'UNKNOWN',
  PEER_OFFLINE = 'PEER_OFFLINE',
  ACCEPT_FAILURE = 'ACCEPT_FAILURE',
  INVITATION_EXPIRE = 'INVITATION_EXPIRE',
}

export enum PeerSubscriptionOption {
  ONLINE_STATUS = 'ONLINE_STATUS',
}

export enum MessageType {
  TEXT = 'TEXT',
  RAW = 'RAW',
}

/** Accepted and ignored: a Plaza deployment is wherever its rendezvous runs. */
export enum AreaCode {
  GLOBAL = 'GLOBAL',
  INDIA = 'INDIA',
  JAPAN = 'JAPAN',
  ASIA = 'ASIA',
  EUROPE = 'EUROPE',
  CHINA = 'CHINA',
  NORTH_AMERICA = 'NORTH_AMERICA',
}

export interface LogFilterType {
  error: boolean
  warn: boolean
  info: boolean
  track: boolean
  debug: boolean
}

export const LOG_FILTER_OFF: LogFilterType = { error: false, warn: false, info: false, track: false, debug: false }
export const LOG_FILTER_ERROR: LogFilterType = { error: true, warn: false, info: false, track: false, debug: false }
export const LOG_FILTER_WARNING: LogFilterType = { error: true, warn: true, info: false, track: false, debug: false }
export const LOG_FILTER_INFO: LogFilterType = { error: true, warn: true, info: true, track: true, debug: false }
export const LOG_FILTER_DEBUG: LogFilterType = { error: true, warn: true, info: true, track: true, debug: true }
