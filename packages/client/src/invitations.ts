import {
  ErrorCode,
  FrameType,
  InvitationEventKind,
  InvitationFailureReason,
  LocalInvitationState,
  MAX_INVITATION_CONTENT_BYTES,
  PlazaError,
  RemoteInvitationState,
  assertUserId,
  isValidId,
  utf8Length,
  type ClientFrame,
  type InviteEventFrame,
  type InviteReceivedFrame,
  type InviteSyncEntry,
  type ServerFrame,
} from '@plaza/protocol'
import { Emitter } from './emitter.js'

interface InvitationHost {
  readonly loggedIn: boolean
  request(build: (reqId: number) => ClientFrame): Promise<ServerFrame>
  send(frame: ClientFrame): boolean
}

export interface LocalInvitationEvents extends Record<string, unknown[]> {
  LocalInvitationReceivedByPeer: []
  LocalInvitationAccepted: [response: string]
  LocalInvitationRefused: [response: string]
  LocalInvitationCanceled: []
  LocalInvitationFailure: [reason: InvitationFailureReason]
}

export interface RemoteInvitationEvents extends Record<string, unknown[]> {
  RemoteInvitationAccepted: []
  RemoteInvitationRefused: []
  RemoteInvitationCanceled: []
  RemoteInvitationFailure: [reason: InvitationFailureReason]
}

function checkText(what: string, s: unknown): asserts s is string {
  if (typeof s !== 'string') throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `${what} must be a string`)
  if (utf8Length(s) > MAX_INVITATION_CONTENT_BYTES) {
    throw new PlazaError(ErrorCode.INVALID_ARGUMENT, `${what} is at most ${MAX_INVITATION_CONTENT_BYTES} bytes`)
  }
}


/** A call invitation this user sends. Set `content` and `channelId`, then `send()`. */
export class LocalInvitation extends Emitter<LocalInvitationEvents> {
  readonly calleeId: string
  readonly id: string
  /** Up to 8 KB, for the callee. */
  content = ''
  /** A channel to meet in, for the callee ('' for none). */
  channelId = ''
  /** The callee's answer, once accepted or refused. */
  response = ''
  state = LocalInvitationState.IDLE

  constructor(
    calleeId: string,
    id: string,
    private readonly host: InvitationHost,
    private readonly track: (inv: LocalInvitation | null, id: string) => void,
  ) {
    super()
    assertUserId(calleeId)
    this.calleeId = calleeId
    this.id = id
  }

  /**
   * Sends it. Failures later arrive as LocalInvitationFailure (NOT_LOGGEDIN at once when logged
   * out). Rejects, back to IDLE, when the node refused it; if the connection dropped before the
   * node answered, it stays SENT_TO_REMOTE and the client finds out from the node what became of it.
   */
  async send(): Promise<void> {
    if (this.state !== LocalInvitationState.IDLE) throw new PlazaError(ErrorCode.INVALID_STATE, `cannot send an invitation that is ${this.state}`)
    checkText('content', this.content)
    if (this.channelId !== '' && !isValidId(this.channelId)) throw new PlazaError(ErrorCode.INVALID_CHANNEL_ID, 'invalid channel id')
    if (!this.host.loggedIn) return this.failed(InvitationFailureReason.NOT_LOGGEDIN)
    this.state = LocalInvitationState.SENT_TO_REMOTE
    this.track(this, this.id)
    try {
      await this.host.request((reqId) => ({ type: FrameType.INVITE_SEND, reqId, id: this.id, callee: this.calleeId, content: this.content, channel: this.channelId }))
    } catch (err) {
      const code = err instanceof PlazaError ? err.code : ErrorCode.INTERNAL
      // Lost on the way or unanswered: the node may hold it. Keep it; the next sync tells.
      if (code === ErrorCode.CONNECTION_LOST || code === ErrorCode.TIMEOUT) return
      if (this.state !== LocalInvitationState.SENT_TO_REMOTE) return
      this.state = LocalInvitationState.IDLE
      this.track(null, this.id)
      throw err
    }
  }

  /** Withdraws it while the callee has not answered. */
  async cancel(): Promise<void> {
    if (this.state !== LocalInvitationState.SENT_TO_REMOTE && this.state !== LocalInvitationState.RECEIVED_BY_REMOTE) {
      throw new PlazaError(ErrorCode.INVALID_STATE, `cannot cancel an invitation that is ${this.state}`)
    }
    await this.host.request((reqId) => ({ type: FrameType.INVITE_CANCEL, reqId, id: this.id }))
    if (this.state !== LocalInvitationState.SENT_TO_REMOTE && this.state !== LocalInvitationState.RECEIVED_BY_REMOTE) return
    this.state = LocalInvitationState.CANCELED
    this.track(null, this.id)
    this.emit('LocalInvitationCanceled')
  }

  get underWay(): boolean {
    return this.state === LocalInvitationState.SENT_TO_REMOTE || this.state === LocalInvitationState.RECEIVED_BY_REMOTE
  }

  _onEvent(f: Pick<InviteEventFrame, 'event' | 'reason' | 'response'>): void {
    if (!this.underWay) return
    switch (f.event) {
      case InvitationEventKind.RECEIVED_BY_PEER:
        if (this.state !== LocalInvitationState.SENT_TO_REMOTE) return
        this.state = LocalInvitationState.RECEIVED_BY_REMOTE
        return this.emit('LocalInvitationReceivedByPeer')
      case InvitationEventKind.CANCELED:
        this.state = LocalInvitationState.CANCELED
        this.track(null, this.id)
        return this.emit('LocalInvitationCanceled')
      case InvitationEventKind.ACCEPTED:
        this.response = f.response
        this.state = LocalInvitationState.ACCEPTED_BY_REMOTE
        this.track(null, this.id)
        return this.emit('LocalInvitationAccepted', f.response)
      case InvitationEventKind.REFUSED:
        this.response = f.response
        this.state = LocalInvitationState.REFUSED_BY_REMOTE
        this.track(null, this.id)
        return this.emit('LocalInvitationRefused', f.response)
      case InvitationEventKind.FAILURE:
        return this.failed(f.reason ?? InvitationFailureReason.PEER_OFFLINE)
      default:
        return
    }
  }

  _failed(reason: InvitationFailureReason): void {
    if (this.underWay) this.failed(reason)
  }

  private failed(reason: InvitationFailureReason): void {
    this.state = LocalInvitationState.FAILURE
    this.track(null, this.id)
    this.emit('LocalInvitationFailure', reason)
  }
}

/** A call invitation this user received (RemoteInvitationReceived). Answer with accept() or refuse(). */
export class RemoteInvitation extends Emitter<RemoteInvitationEvents> {
  readonly callerId: string
  readonly id: string
  readonly content: string
  readonly channelId: string
  /** Sent back with accept() or refuse() (up to 8 KB). */
  response = ''
  state = RemoteInvitationState.INVITATION_RECEIVED

  constructor(
    f: InviteReceivedFrame,
    private readonly host: InvitationHost,
    /** Forgets it as under way; `answer` is what we answered (the node may not have it yet). */
    private readonly untrack: (answer?: { accept: boolean; response: string }) => void,
  ) {
    super()
    this.callerId = f.caller
    this.id = f.id
    this.content = f.content
    this.channelId = f.channel
  }

  /**
   * Accepts. RemoteInvitationAccepted once the caller was told; RemoteInvitationFailure
   * (ACCEPT_FAILURE) if it could not be. If the connection drops before the node answers, the
   * invitation stays ACCEPT_SENT_TO_LOCAL until the client learns from the node what happened.
   */
  async accept(): Promise<void> {
    this.checkAnswerable()
    this.state = RemoteInvitationState.ACCEPT_SENT_TO_LOCAL
    try {
      await this.answer(true)
    } catch (err) {
      const code = err instanceof PlazaError ? err.code : ErrorCode.INTERNAL
      if (code === ErrorCode.CONNECTION_LOST || code === ErrorCode.TIMEOUT) return // the next sync tells
      if (this.state === RemoteInvitationState.ACCEPT_SENT_TO_LOCAL) this.failed(InvitationFailureReason.ACCEPT_FAILURE)
      return
    }
    this.accepted()
  }

  private accepted(): void {
    if (this.state !== RemoteInvitationState.ACCEPT_SENT_TO_LOCAL) return
    this.state = RemoteInvitationState.ACCEPTED
    this.untrack()
    this.emit('RemoteInvitationAccepted')
  }

  async refuse(): Promise<void> {
    this.checkAnswerable()
    this.state = RemoteInvitationState.REFUSED
    this.untrack({ accept: false, response: this.response })
    try {
      await this.answer(false)
    } finally {
      this.emit('RemoteInvitationRefused')
    }
  }

  get underWay(): boolean {
    return this.state === RemoteInvitationState.INVITATION_RECEIVED || this.state === RemoteInvitationState.ACCEPT_SENT_TO_LOCAL
  }

  _onEvent(f: Pick<InviteEventFrame, 'event' | 'reason'>): void {
    if (!this.underWay) return
    if (f.event === InvitationEventKind.ACCEPTED) return this.accepted() // (from a sync: our accept reached the caller)
    if (f.event === InvitationEventKind.CANCELED) {
      this.state = RemoteInvitationState.CANCELED
      this.untrack()
      this.emit('RemoteInvitationCanceled')
    } else if (f.event === InvitationEventKind.FAILURE) {
      this.failed(f.reason ?? InvitationFailureReason.PEER_OFFLINE)
    }
  }

  private checkAnswerable(): void {
    if (this.state !== RemoteInvitationState.INVITATION_RECEIVED) {
      throw new PlazaError(ErrorCode.INVALID_STATE, `cannot answer an invitation that is ${this.state}`)
    }
    checkText('response', this.response)
  }

  private async answer(accept: boolean): Promise<void> {
    await sendAnswer(this.host, this.callerId, this.id, accept, this.response)
  }

  _failed(reason: InvitationFailureReason): void {
    if (this.underWay) this.failed(reason)
  }

  private failed(reason: InvitationFailureReason): void {
    this.state = RemoteInvitationState.FAILURE
    this.untrack()
    this.emit('RemoteInvitationFailure', reason)
  }
}

function sendAnswer(host: InvitationHost, caller: string, id: string, accept: boolean, response: string): Promise<ServerFrame> {
  return host.request((reqId) => ({ type: FrameType.INVITE_ANSWER, reqId, caller, id, accept, response }))
}

/** Answered invitations remembered, in case the node sends one again (it never got the answer). */
const MAX_ANSWERED = 256

/** The client's invitations under way, both ways. */
export class InvitationBook {
  private readonly outgoing = new Map<string, LocalInvitation>()
  private readonly incoming = new Map<string, RemoteInvitation>()
  private readonly answered = new Map<string, { accept: boolean; response: string }>()

  constructor(
    private readonly host: InvitationHost,
    private readonly onReceived: (inv: RemoteInvitation) => void,
    private readonly randomId: () => string,
  ) {}

  create(calleeId: string): LocalInvitation {
    return new LocalInvitation(calleeId, this.randomId(), this.host, (inv, id) => {
      if (inv) this.outgoing.set(id, inv)
      else this.outgoing.delete(id)
    })
  }

  onReceived_(f: InviteReceivedFrame): void {
    const key = `${f.caller}\u0000${f.id}`
    this.host.send({ type: FrameType.INVITE_ACK, caller: f.caller, id: f.id })
    if (this.incoming.has(key)) return
    const answer = this.answered.get(key)
    if (answer) {
      // Answered already, but the answer was lost on the way (the node sends it again after a
      // resync): the app had its say; the node gets it again, no second invitation.
      void sendAnswer(this.host, f.caller, f.id, answer.accept, answer.response).catch(() => undefined)
      return
    }
    const inv = new RemoteInvitation(f, this.host, (answer) => {
      this.incoming.delete(key)
      if (!answer) return
      this.answered.set(key, answer)
      if (this.answered.size > MAX_ANSWERED) this.answered.delete(this.answered.keys().next().value!)
    })
    this.incoming.set(key, inv)
    this.onReceived(inv)
  }

  onEvent(f: InviteEventFrame): void {
    if (f.outgoing) this.outgoing.get(f.id)?._onEvent(f)
    else this.incoming.get(`${f.peer}\u0000${f.id}`)?._onEvent(f)
  }

  /**
   * Logged out, aborted, or logged in again with a fresh session (the node ended our old one and
   * its invitations with it): what was under way cannot finish.
   */
  reset(): void {
    for (const inv of [...this.outgoing.values()]) inv._failed(InvitationFailureReason.NOT_LOGGEDIN)
    for (const inv of [...this.incoming.values()]) inv._failed(InvitationFailureReason.NOT_LOGGEDIN)
    this.outgoing.clear()
    this.incoming.clear()
    this.answered.clear()
  }

  /** Our session resumed: ask the node where each invitation under way stands (events may have been lost). */
  async resync(): Promise<void> {
    const outgoing = [...this.outgoing.keys()]
    const incoming = [...this.incoming.values()].map((inv) => ({ caller: inv.callerId, id: inv.id }))
    if (outgoing.length === 0 && incoming.length === 0) return
    let f: ServerFrame
    try {
      f = await this.host.request((reqId) => ({ type: FrameType.INVITE_SYNC, reqId, outgoing, incoming }))
    } catch {
      return // connection gone again: the next ready asks again
    }
    if (f.type !== FrameType.INVITE_SYNC_RESULT) return
    for (const e of f.entries) this.applySync(e)
  }

  private applySync(e: InviteSyncEntry): void {
    const inv = e.outgoing ? this.outgoing.get(e.id) : this.incoming.get(`${e.peer}\u0000${e.id}`)
    if (!inv) return
    if (!e.known) return inv._failed(InvitationFailureReason.NOT_LOGGEDIN)
    if (e.event !== null) inv._onEvent({ event: e.event, reason: e.reason, response: e.response })
  }
}
