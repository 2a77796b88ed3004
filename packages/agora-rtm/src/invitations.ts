/**
 * LocalInvitation and RemoteInvitation as agora-rtm-sdk 1.x has them: send/cancel/accept/refuse
 * return nothing, throw at once for a call the state does not allow, and report everything else
 * through events. They wrap @plaza/client's invitations, which follow the same states.
 */
import {
  InvitationFailureReason,
  LocalInvitationState,
  MAX_INVITATION_CONTENT_BYTES,
  RemoteInvitationState,
  utf8Length,
} from '@plaza/protocol'
import type { LocalInvitation as PlazaLocalInvitation, RemoteInvitation as PlazaRemoteInvitation } from '@plaza/client'
import { EventEmitter } from './emitter.js'
import { LocalInvitationFailureReason, RemoteInvitationFailureReason } from './enums.js'
import { rtmError } from './errors.js'
import { isAgoraId } from './ids.js'

export type LocalInvitationEvents = {
  LocalInvitationAccepted: [response: string]
  LocalInvitationRefused: [response: string]
  LocalInvitationReceivedByPeer: []
  LocalInvitationCanceled: []
  LocalInvitationFailure: [reason: LocalInvitationFailureReason]
}

export type RemoteInvitationEvents = {
  RemoteInvitationCanceled: [content: string]
  RemoteInvitationRefused: []
  RemoteInvitationAccepted: []
  RemoteInvitationFailure: [reason: RemoteInvitationFailureReason]
}

function localReason(r: InvitationFailureReason): LocalInvitationFailureReason {
  switch (r) {
    case InvitationFailureReason.PEER_OFFLINE:
      return LocalInvitationFailureReason.PEER_OFFLINE
    case InvitationFailureReason.PEER_NO_RESPONSE:
      return LocalInvitationFailureReason.PEER_NO_RESPONSE
    case InvitationFailureReason.INVITATION_EXPIRE:
      return LocalInvitationFailureReason.INVITATION_EXPIRE
    case InvitationFailureReason.NOT_LOGGEDIN:
      return LocalInvitationFailureReason.NOT_LOGGEDIN
    default:
      return LocalInvitationFailureReason.UNKNOWN
  }
}

function remoteReason(r: InvitationFailureReason): RemoteInvitationFailureReason {
  switch (r) {
    case InvitationFailureReason.PEER_OFFLINE:
      return RemoteInvitationFailureReason.PEER_OFFLINE
    case InvitationFailureReason.ACCEPT_FAILURE:
      return RemoteInvitationFailureReason.ACCEPT_FAILURE
    case InvitationFailureReason.INVITATION_EXPIRE:
      return RemoteInvitationFailureReason.INVITATION_EXPIRE
    default:
      return RemoteInvitationFailureReason.UNKNOWN
  }
}

function checkText(what: string, s: unknown): void {
  if (typeof s !== 'string' || utf8Length(s) > MAX_INVITATION_CONTENT_BYTES) {
    throw rtmError('INVITATION_API_CALL', 'argument', `${what}: a string of at most ${MAX_INVITATION_CONTENT_BYTES} bytes`)
  }
}

export class LocalInvitation extends EventEmitter<LocalInvitationEvents> {
  /** Set when the node refused to take it (the Plaza invitation went back to IDLE). */
  private refused = false

  /** @internal */
  constructor(
    private readonly inner: PlazaLocalInvitation,
    /** The caller's uid now ('' when logged out). */
    private readonly selfUid: () => string,
  ) {
    super()
    inner.on('LocalInvitationAccepted', (response) => this._emit('LocalInvitationAccepted', response))
    inner.on('LocalInvitationRefused', (response) => this._emit('LocalInvitationRefused', response))
    inner.on('LocalInvitationReceivedByPeer', () => this._emit('LocalInvitationReceivedByPeer'))
    inner.on('LocalInvitationCanceled', () => this._emit('LocalInvitationCanceled'))
    inner.on('LocalInvitationFailure', (reason) => this._emit('LocalInvitationFailure', localReason(reason)))
  }

  get calleeId(): string {
    return this.inner.calleeId
  }

  /** Up to 8 KB, for the callee. */
  get content(): string {
    return this.inner.content
  }
  set content(v: string) {
    this.inner.content = v
  }

  /** A channel to meet in ('' for none). */
  get channelId(): string {
    return this.inner.channelId
  }
  set channelId(v: string) {
    this.inner.channelId = v
  }

  get response(): string {
    return this.inner.response
  }

  get state(): LocalInvitationState {
    return this.refused ? LocalInvitationState.FAILURE : this.inner.state
  }

  /** Sends it; what becomes of it arrives as events (LocalInvitationFailure NOT_LOGGEDIN when logged out). */
  send(): void {
    if (this.state !== LocalInvitationState.IDLE) throw rtmError('INVITATION_API_CALL', 'alreadySent', `the invitation is ${this.state}`)
    checkText('content', this.inner.content)
    if (this.inner.channelId !== '' && !isAgoraId(this.inner.channelId)) throw rtmError('INVITATION_API_CALL', 'argument', 'invalid channelId')
    if (this.inner.calleeId === this.selfUid()) throw rtmError('INVITATION_API_CALL', 'argument', 'cannot invite yourself')
    this.inner.send().catch(() => {
      // The node refused it (e.g. too often): the SDK has no such answer but a failure.
      if (this.inner.state !== LocalInvitationState.IDLE) return
      this.refused = true
      this._emit('LocalInvitationFailure', LocalInvitationFailureReason.UNKNOWN)
    })
  }

  /** Withdraws it while the callee has not answered (LocalInvitationCanceled). */
  cancel(): void {
    const s = this.state
    if (s === LocalInvitationState.IDLE) throw rtmError('INVITATION_API_CALL', 'notStarted', 'the invitation was not sent')
    if (s !== LocalInvitationState.SENT_TO_REMOTE && s !== LocalInvitationState.RECEIVED_BY_REMOTE) {
      throw rtmError('INVITATION_API_CALL', 'alreadyEnd', `the invitation is ${s}`)
    }
    // A cancel lost with the connection: the invitation's outcome still arrives as an event.
    this.inner.cancel().catch(() => undefined)
  }
}

export class RemoteInvitation extends EventEmitter<RemoteInvitationEvents> {
  /** @internal */
  constructor(private readonly inner: PlazaRemoteInvitation) {
    super()
    inner.on('RemoteInvitationAccepted', () => this._emit('RemoteInvitationAccepted'))
    inner.on('RemoteInvitationRefused', () => this._emit('RemoteInvitationRefused'))
    inner.on('RemoteInvitationCanceled', () => this._emit('RemoteInvitationCanceled', inner.content))
    inner.on('RemoteInvitationFailure', (reason) => this._emit('RemoteInvitationFailure', remoteReason(reason)))
  }

  get callerId(): string {
    return this.inner.callerId
  }
  get channelId(): string {
    return this.inner.channelId
  }
  get content(): string {
    return this.inner.content
  }
  get state(): RemoteInvitationState {
    return this.inner.state
  }

  /** Sent back with accept() or refuse() (up to 8 KB). */
  get response(): string {
    return this.inner.response
  }
  set response(v: string) {
    this.inner.response = v
  }

  accept(): void {
    this.answerable()
    this.inner.accept().catch(() => undefined) // failures arrive as RemoteInvitationFailure
  }

  refuse(): void {
    this.answerable()
    this.inner.refuse().catch(() => undefined)
  }

  private answerable(): void {
    const s = this.inner.state
    if (s === RemoteInvitationState.ACCEPT_SENT_TO_LOCAL || s === RemoteInvitationState.ACCEPTED) {
      throw rtmError('INVITATION_API_CALL', 'alreadyAccept', `the invitation is ${s}`)
    }
    if (s !== RemoteInvitationState.INVITATION_RECEIVED) throw rtmError('INVITATION_API_CALL', 'alreadyEnd', `the invitation is ${s}`)
    checkText('response', this.inner.response)
  }
}
