/**
 * Type conformance with agora-rtm-sdk 1.5.1's own index.d.ts (a devDependency for this file only;
 * nothing of Agora's is bundled or shipped). `npm run typecheck` compiles it: a method, event,
 * enum or argument shape that drifts from the SDK's fails the type check.
 */
import type {
  LocalInvitation as SdkLocalInvitation,
  RemoteInvitation as SdkRemoteInvitation,
  RtmChannel as SdkRtmChannel,
  RtmClient as SdkRtmClient,
  RtmEvents as SdkRtmEvents,
  RtmMessage as SdkRtmMessage,
  RtmRawMessage as SdkRtmRawMessage,
  RtmStatusCode,
  RtmTextMessage as SdkRtmTextMessage,
} from 'agora-rtm-sdk'
import AgoraRTM, {
  LocalInvitation,
  RemoteInvitation,
  RtmChannel,
  RtmClient,
  type LocalInvitationEvents,
  type RemoteInvitationEvents,
  type RtmChannelEvents,
  type RtmClientEvents,
  type RtmFileMessage,
  type RtmImageMessage,
  type RtmMessage,
  type RtmRawMessage,
  type RtmTextMessage,
} from '@plaza/agora-rtm'

// The default export: createInstance, setArea, the log filters, VERSION/BUILD/END_CALL_PREFIX and every enum.
export const namespace: typeof import('agora-rtm-sdk').default = AgoraRTM

// The classes, as the SDK declares them (methods, properties, EventEmitter surface).
export const client = (c: RtmClient): SdkRtmClient => c
export const channel = (c: RtmChannel): SdkRtmChannel => c
export const localInvitation = (i: LocalInvitation): SdkLocalInvitation => i
export const remoteInvitation = (i: RemoteInvitation): SdkRemoteInvitation => i
export const created: SdkRtmClient = AgoraRTM.createInstance('app')

// Messages: what an SDK app builds is accepted here, and what this module hands out is the SDK's.
export const messageIn = (m: SdkRtmMessage): RtmMessage => m
export const textIn = (m: SdkRtmTextMessage): RtmTextMessage => m
export const rawIn = (m: SdkRtmRawMessage): RtmRawMessage => m
export const textOut = (m: RtmTextMessage): SdkRtmTextMessage => m
export const rawOut = (m: RtmRawMessage): SdkRtmRawMessage => m

// Events: the same names; what this module emits is what the SDK's listeners take (media
// messages aside: 1.5.1 dropped agora-rtm-sdk 1.4's file and image messages, kept here).
type Args<F> = F extends (...args: infer A) => unknown ? A : never
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : false
type Narrow<T> = { [I in keyof T]: T[I] extends RtmMessage ? Exclude<T[I], RtmFileMessage | RtmImageMessage> : T[I] }
type Match<Ours, Sdk> = {
  [K in keyof Ours & keyof Sdk]: [Narrow<Ours[K]>] extends [Args<Sdk[K]>] ? true : false
}
type AllTrue<T> = T[keyof T] extends true ? true : false
export const clientEventNames: SameKeys<SdkRtmEvents.RtmClientEvents, RtmClientEvents> = true
export const channelEventNames: SameKeys<SdkRtmEvents.RtmChannelEvents, RtmChannelEvents> = true
export const localEventNames: SameKeys<SdkRtmEvents.LocalInvitationEvents, LocalInvitationEvents> = true
export const remoteEventNames: SameKeys<SdkRtmEvents.RemoteInvitationEvents, RemoteInvitationEvents> = true
export const clientEventArgs: AllTrue<Match<RtmClientEvents, SdkRtmEvents.RtmClientEvents>> = true
export const channelEventArgs: AllTrue<Match<RtmChannelEvents, SdkRtmEvents.RtmChannelEvents>> = true
export const localEventArgs: AllTrue<Match<LocalInvitationEvents, SdkRtmEvents.LocalInvitationEvents>> = true
export const remoteEventArgs: AllTrue<Match<RemoteInvitationEvents, SdkRtmEvents.RemoteInvitationEvents>> = true

// Enums: the same values, usable where the SDK's are expected.
export const states: RtmStatusCode.ConnectionState[] = [AgoraRTM.ConnectionState.CONNECTED, AgoraRTM.ConnectionState.ABORTED]
export const reasons: RtmStatusCode.ConnectionChangeReason = AgoraRTM.ConnectionChangeReason.REMOTE_LOGIN
export const online: RtmStatusCode.PeerOnlineState = AgoraRTM.PeerOnlineState.UNREACHABLE
export const localFailure: RtmStatusCode.LocalInvitationFailureReason = AgoraRTM.LocalInvitationFailureReason.PEER_OFFLINE
export const remoteFailure: RtmStatusCode.RemoteInvitationFailureReason = AgoraRTM.RemoteInvitationFailureReason.ACCEPT_FAILURE
export const option: RtmStatusCode.PeerSubscriptionOption = AgoraRTM.PeerSubscriptionOption.ONLINE_STATUS
