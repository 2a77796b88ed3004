/**
 * @plaza/agora-rtm: agora-rtm-sdk 1.x's default export over Plaza.
 *
 * @example
 *   import AgoraRTM from '@plaza/agora-rtm' // or 'agora-rtm-sdk', aliased in the bundler
 *   AgoraRTM.configure({ rendezvousUrl: 'wss://plaza.example.com' })
 *   const client = AgoraRTM.createInstance('my-app')
 *   await client.login({ uid: 'alice', token }) // a Plaza token from your app server
 */
import { RtmClient, type PlazaConfig, type RtmConfig } from './client.js'
import {
  AreaCode,
  ConnectionChangeReason,
  ConnectionState,
  LOG_FILTER_DEBUG,
  LOG_FILTER_ERROR,
  LOG_FILTER_INFO,
  LOG_FILTER_OFF,
  LOG_FILTER_WARNING,
  LocalInvitationFailureReason,
  LocalInvitationState,
  MessageType,
  PeerOnlineState,
  PeerSubscriptionOption,
  RemoteInvitationFailureReason,
  RemoteInvitationState,
} from './enums.js'
import {
  RtmError,
  RtmErrorCode,
  RtmInternalError,
  RtmInvalidArgumentError,
  RtmInvalidStatusError,
  RtmInvokeTooOftenError,
  RtmLimitExceededError,
  RtmTimeoutError,
  RtmUnauthenticatedError,
  RtmUnavailableError,
  RtmUnknownError,
} from './errors.js'

let defaults: PlazaConfig = {}

/**
 * Plaza's settings for every later createInstance (config passed to createInstance wins):
 * where the rendezvous is, and optionally where tokens come from.
 */
function configure(config: PlazaConfig): void {
  defaults = { ...defaults, ...config }
}

/** A client for `appId` (the app id your rendezvous is started with: `--app id:secret`). */
function createInstance(appId: string, config: RtmConfig = {}, _areaCodes?: AreaCode[]): RtmClient {
  return new RtmClient(appId, {
    ...defaults,
    ...config,
    clientOptions: { ...defaults.clientOptions, ...config.clientOptions },
  })
}

/** Accepted, no effect: a Plaza deployment is wherever its rendezvous nodes run. */
function setArea(_areaConfig: { areaCodes: AreaCode[]; excludedArea?: AreaCode }): void {}

const AgoraRTM = {
  LOG_FILTER_OFF,
  LOG_FILTER_ERROR,
  LOG_FILTER_INFO,
  LOG_FILTER_WARNING,
  LOG_FILTER_DEBUG,
  /** The agora-rtm-sdk API this module follows, and the Plaza build. */
  VERSION: '1.5.1',
  BUILD: 'plaza-agora-rtm-0.1.0',
  END_CALL_PREFIX: 'AgoraRTMLegacyEndcallCompatibleMessagePrefix',
  createInstance,
  configure,
  setArea,
  ConnectionChangeReason,
  ConnectionState,
  LocalInvitationFailureReason,
  LocalInvitationState,
  RemoteInvitationState,
  RemoteInvitationFailureReason,
  MessageType,
  PeerOnlineState,
  PeerSubscriptionOption,
  AreaCode,
  RtmError,
  RtmErrorCode,
  RtmInvalidArgumentError,
  RtmInvalidStatusError,
  RtmTimeoutError,
  RtmInvokeTooOftenError,
  RtmLimitExceededError,
  RtmUnauthenticatedError,
  RtmUnavailableError,
  RtmUnknownError,
  RtmInternalError,
}

export default AgoraRTM

export { RtmClient }
export { RtmChannel } from './channel.js'
export { LocalInvitation, RemoteInvitation } from './invitations.js'
export type { RtmClientEvents, RtmConfig, PlazaConfig, SendMessageOptions, PeerMessageSendResult, MediaTransferHandler, MediaOperationProgress, MediaMessageParams, ChannelAttributeOptions } from './client.js'
export type { RtmChannelEvents } from './channel.js'
export type { LocalInvitationEvents, RemoteInvitationEvents } from './invitations.js'
export type { RtmMessage, RtmTextMessage, RtmRawMessage, RtmFileMessage, RtmImageMessage, ReceivedMessageProperties } from './messages.js'
export type { LogFilterType } from './enums.js'
export {
  AreaCode,
  ConnectionChangeReason,
  ConnectionState,
  LocalInvitationFailureReason,
  LocalInvitationState,
  MessageType,
  PeerOnlineState,
  PeerSubscriptionOption,
  RemoteInvitationFailureReason,
  RemoteInvitationState,
}
export {
  RtmError,
  RtmErrorCode,
  RtmInternalError,
  RtmInvalidArgumentError,
  RtmInvalidStatusError,
  RtmInvokeTooOftenError,
  RtmLimitExceededError,
  RtmTimeoutError,
  RtmUnauthenticatedError,
  RtmUnavailableError,
  RtmUnknownError,
}
