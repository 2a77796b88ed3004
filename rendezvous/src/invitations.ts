import {
  ErrorCode,
  FrameType,
  InvitationEventKind,
  InvitationFailureReason,
  MAX_PENDING_INVITATIONS,
  PlazaError,
  encodeFrame,
  type ClientFrame,
  type InviteSyncEntry,
  type TimerHandle,
} from '@plaza/protocol'
import type { NodeContext } from './context.js'
import type { InviteReply } from './engine/engine.js'
import type { Session } from './session.js'

type InviteFrame = Extract<
  ClientFrame,
  { type: FrameType.INVITE_SEND | FrameType.INVITE_CANCEL | FrameType.INVITE_ACK | FrameType.INVITE_ANSWER | FrameType.INVITE_SYNC }
>

/** How an invitation ended, for each side, kept a while for clients that missed the event. */
interface Outcome {
  calleeId: string
  caller: OutcomeEvent | null
  callee: OutcomeEvent | null
  at: number
}
interface OutcomeEvent {
  event: InvitationEventKind
  reason: InvitationFailureReason | null
  response: string
}

/** How often an invitation to a callee with no session is tried again. */
const RETRY_MS = 1000

/** Ended invitations remembered (for INVITE_SYNC), and for how long. */
const MAX_OUTCOMES = 10_000
const OUTCOME_TTL_MS = 5 * 60_000

interface Invitation {
  key: string
  appId: string
  caller: string
  callee: string
  id: string
  content: string
  channel: string
  /** waiting: callee offline; delivered: sent to the callee's session; received: its client acknowledged. */
  state: 'waiting' | 'delivered' | 'received'
  timer: TimerHandle | null
  /** What each side was told last (kept as the outcome when it ends). */
  told: { caller: OutcomeEvent | null; callee: OutcomeEvent | null }
}

const keyOf = (appId: string, caller: string, id: string) => `${appId}\u0000${caller}\u0000${id}`
const userKey = (appId: string, uid: string) => `${appId}\u0000${uid}`

/**
 * Call invitations, routed by the node: an invitation waits up to 30 s for an offline callee,
 * fails PEER_NO_RESPONSE if the callee's client does not acknowledge it in 30 s, and
 * INVITATION_EXPIRE if it is not answered 60 s after it was received. Everything here is
 * bounded: at most 64 under way per caller, each with one timer.
 */
export class Invitations {
  private readonly all = new Map<string, Invitation>()
  /** app+user -> invitations where that user is caller or callee */
  private readonly byUser = new Map<string, Set<Invitation>>()
  private readonly outcomes = new Map<string, Outcome>()

  constructor(private readonly ctx: NodeContext) {}

  handle(s: Session, f: InviteFrame): Promise<void> | void {
    switch (f.type) {
      case FrameType.INVITE_SEND:
        return this.send(s, f)
      case FrameType.INVITE_CANCEL: {
        const inv = this.all.get(keyOf(s.appId, s.uid, f.id))
        if (!inv) return this.ctx.result(s, f.reqId, new PlazaError(ErrorCode.UNKNOWN_INVITATION, 'no such invitation under way'))
        if (inv.state !== 'waiting') this.tell(inv, false, InvitationEventKind.CANCELED, null, '')
        this.finish(inv)
        return this.ctx.result(s, f.reqId, null)
      }
      case FrameType.INVITE_ACK:
        // Held by the caller's node: this one, or another (the callee's frame goes there).
        if (!this.all.has(keyOf(s.appId, f.caller, f.id))) return this.toCallersNode(s, f.caller, { type: 'ack', id: f.id })
        return this.acknowledged(s.appId, f.caller, s.uid, f.id)
      case FrameType.INVITE_ANSWER: {
        const reply: InviteReply = { type: 'answer', id: f.id, reqId: f.reqId, accept: f.accept, response: f.response }
        if (!this.all.has(keyOf(s.appId, f.caller, f.id))) return this.toCallersNode(s, f.caller, reply)
        return this.answered(s.appId, f.caller, s.uid, reply).then((err) => this.ctx.result(s, f.reqId, err))
      }
      case FrameType.INVITE_SYNC:
        return this.sync(s, f)
    }
  }

  /** The callee's frame about an invitation this node does not hold: to the caller's node. */
  private async toCallersNode(s: Session, caller: string, reply: InviteReply): Promise<void> {
    const sent = await this.ctx.engine.command(s.appId, caller, { kind: 'invite', from: s.uid, frame: reply })
    if (!sent && reply.type === 'answer') this.ctx.result(s, reply.reqId, new PlazaError(ErrorCode.UNKNOWN_INVITATION, 'the invitation is no longer under way'))
  }

  /** A callee's frame passed on by its node (see toCallersNode); the RESULT of an answer goes back the same way. */
  fromCallee(appId: string, caller: string, callee: string, reply: InviteReply): void {
    if (reply.type === 'ack') return this.acknowledged(appId, caller, callee, reply.id)
    if (reply.type === 'sync') return this.tellAgain(appId, caller, callee, reply.id)
    const answered = this.answered(appId, caller, callee, reply).then((err) => {
      const frame = encodeFrame({ type: FrameType.RESULT, reqId: reply.reqId, code: err ? err.code : ErrorCode.OK, message: err ? err.message : '' })
      return this.ctx.engine.deliver(appId, callee, frame)
    })
    this.ctx.background(answered, 'invitation answer')
  }

  /** A callee on another node resynchronised: what it may have missed goes to it again, as events. */
  private tellAgain(appId: string, caller: string, callee: string, id: string): void {
    const entry = this.syncEntry(appId, caller, id, false, callee)
    // Under way: syncEntry handed it over again if the callee's copy may be lost. Ended, or unknown here: the outcome.
    if (entry.known && entry.event === null) return
    const frame = encodeFrame({
      type: FrameType.INVITE_EVENT,
      peer: caller,
      id,
      outgoing: false,
      event: entry.known ? entry.event! : InvitationEventKind.FAILURE,
      reason: entry.known ? entry.reason : InvitationFailureReason.NOT_LOGGEDIN,
      response: entry.response,
    })
    this.ctx.background(this.ctx.engine.deliver(appId, callee, frame), 'invitation event')
  }

  /** The callee's client has the invitation: RECEIVED_BY_PEER for the caller; it may now expire unanswered. */
  private acknowledged(appId: string, caller: string, callee: string, id: string): void {
    const inv = this.all.get(keyOf(appId, caller, id))
    if (!inv || inv.callee !== callee || inv.state !== 'delivered') return
    inv.state = 'received'
    this.tell(inv, true, InvitationEventKind.RECEIVED_BY_PEER, null, '')
    this.arm(inv, this.ctx.config.invitationExpireMs, () => this.fail(inv, InvitationFailureReason.INVITATION_EXPIRE, true))
  }

  /** The callee accepted or refused: the caller is told; the answer's error (null: told). */
  private async answered(appId: string, caller: string, callee: string, reply: Extract<InviteReply, { type: 'answer' }>): Promise<PlazaError | null> {
    const inv = this.all.get(keyOf(appId, caller, reply.id))
    if (!inv || inv.callee !== callee || inv.state === 'waiting') return new PlazaError(ErrorCode.UNKNOWN_INVITATION, 'the invitation is no longer under way')
    const event = reply.accept ? InvitationEventKind.ACCEPTED : InvitationEventKind.REFUSED
    const told = this.tell(inv, true, event, null, reply.response)
    this.finish(inv)
    const delivered = await told
    // What the callee's answer came to, for a callee that lost the RESULT and asks (INVITE_SYNC).
    const outcome = this.outcomes.get(inv.key)
    if (delivered && outcome) outcome.callee = { event, reason: null, response: '' }
    return delivered ? null : new PlazaError(ErrorCode.PEER_OFFLINE, 'the caller is gone')
  }

  /**
   * Where each invitation under way stands for a session that resumed. An incoming one held by
   * the caller's node elsewhere is answered "under way", and that node tells the callee again
   * what became of it (see fromCallee), as an event.
   */
  private async sync(s: Session, f: Extract<InviteFrame, { type: FrameType.INVITE_SYNC }>): Promise<void> {
    const entries: InviteSyncEntry[] = []
    for (const id of f.outgoing) entries.push(this.syncEntry(s.appId, s.uid, id, true, s.uid))
    for (const { caller, id } of f.incoming) {
      const key = keyOf(s.appId, caller, id)
      const here = this.all.has(key) || this.outcomes.has(key)
      const elsewhere = !here && (await this.ctx.engine.session(s.appId, caller))
      if (elsewhere && elsewhere.nodeId !== this.ctx.engine.nodeId) {
        entries.push({ peer: caller, id, outgoing: false, known: true, event: null, reason: null, response: '' })
        this.ctx.background(this.ctx.engine.command(s.appId, caller, { kind: 'invite', from: s.uid, frame: { type: 'sync', id } }), 'invitation sync')
      } else entries.push(this.syncEntry(s.appId, caller, id, false, s.uid))
    }
    s.sendNow(encodeFrame({ type: FrameType.INVITE_SYNC_RESULT, reqId: f.reqId, entries }))
  }

  /** Where an invitation stands for one side: under way (with RECEIVED if so), its outcome, or unknown. */
  private syncEntry(appId: string, caller: string, id: string, outgoing: boolean, uid: string): InviteSyncEntry {
    const key = keyOf(appId, caller, id)
    const peerOf = (inv: { caller: string; callee: string }) => (outgoing ? inv.callee : inv.caller)
    const inv = this.all.get(key)
    if (inv && (outgoing || inv.callee === uid)) {
      const received = outgoing && inv.state === 'received'
      if (!outgoing && inv.state === 'delivered') void this.deliver(inv) // the first copy may be what was lost
      return { peer: peerOf(inv), id, outgoing, known: true, event: received ? InvitationEventKind.RECEIVED_BY_PEER : null, reason: null, response: '' }
    }
    const o = this.outcomes.get(key)
    const told = o && (outgoing || o.calleeId === uid) ? (outgoing ? o.caller : o.callee) : null
    if (o && told) return { peer: outgoing ? o.calleeId : caller, id, outgoing, known: true, ...told }
    // Unknown: never here, or ended long ago. (`peer` is only a placeholder for the caller's side.)
    return { peer: outgoing ? (o?.calleeId ?? uid) : caller, id, outgoing, known: false, event: null, reason: null, response: '' }
  }

  /** A session resumed after frames for it were lost: invitations delivered to it go again. */
  redeliver(appId: string, uid: string): void {
    for (const inv of this.byUser.get(userKey(appId, uid)) ?? []) if (inv.callee === uid && inv.state === 'delivered') void this.deliver(inv)
  }

  private send(s: Session, f: Extract<InviteFrame, { type: FrameType.INVITE_SEND }>): Promise<void> | void {
    const key = keyOf(s.appId, s.uid, f.id)
    const err =
      (f.callee === s.uid ? new PlazaError(ErrorCode.INVALID_USER_ID, 'cannot invite yourself') : null) ??
      (this.all.has(key) ? new PlazaError(ErrorCode.INVALID_STATE, 'invitation id already under way') : null) ??
      (this.count(s.appId, s.uid) >= MAX_PENDING_INVITATIONS
        ? new PlazaError(ErrorCode.TOO_OFTEN, `at most ${MAX_PENDING_INVITATIONS} invitations under way`)
        : null) ??
      this.ctx.checkRate(s, 'invitations')
    if (err) return this.ctx.result(s, f.reqId, err)
    const inv: Invitation = {
      key,
      appId: s.appId,
      caller: s.uid,
      callee: f.callee,
      id: f.id,
      content: f.content,
      channel: f.channel,
      state: 'waiting',
      timer: null,
      told: { caller: null, callee: null },
    }
    this.all.set(key, inv)
    for (const uid of [inv.caller, inv.callee]) {
      let set = this.byUser.get(userKey(s.appId, uid))
      if (!set) this.byUser.set(userKey(s.appId, uid), (set = new Set()))
      set.add(inv)
    }
    this.ctx.result(s, f.reqId, null)
    const deadline = this.ctx.rt.clock.now() + this.ctx.config.invitationOfflineMs
    return this.deliver(inv).then((delivered) => {
      if (!delivered) this.waitForCallee(inv, deadline)
    })
  }

  /**
   * The callee has no session: tried again every second (it may log in on any node) until the
   * offline timeout, then PEER_OFFLINE. (A login on this node hands it over at once: onLogin.)
   */
  private waitForCallee(inv: Invitation, deadline: number): void {
    if (this.all.get(inv.key) !== inv || inv.state !== 'waiting') return
    const left = deadline - this.ctx.rt.clock.now()
    if (left <= 0) return this.fail(inv, InvitationFailureReason.PEER_OFFLINE, false)
    this.arm(inv, Math.min(RETRY_MS, left), () => {
      if (this.ctx.rt.clock.now() >= deadline) return this.fail(inv, InvitationFailureReason.PEER_OFFLINE, false)
      void this.deliver(inv).then((delivered) => {
        if (!delivered) this.waitForCallee(inv, deadline)
      })
    })
  }

  /** A user logged in: hand over invitations waiting for them. */
  onLogin(appId: string, uid: string): void {
    for (const inv of this.byUser.get(userKey(appId, uid)) ?? []) if (inv.callee === uid && inv.state === 'waiting') void this.deliver(inv)
  }

  /** A session ended: the other side of each of its invitations hears PEER_OFFLINE. */
  onSessionEnd(appId: string, uid: string): void {
    for (const inv of [...(this.byUser.get(userKey(appId, uid)) ?? [])]) {
      if (inv.caller === uid) {
        if (inv.state !== 'waiting') this.tell(inv, false, InvitationEventKind.FAILURE, InvitationFailureReason.PEER_OFFLINE, '')
        this.finish(inv)
      } else if (inv.state !== 'waiting') {
        this.tell(inv, true, InvitationEventKind.FAILURE, InvitationFailureReason.PEER_OFFLINE, '')
        this.finish(inv)
      }
    }
  }

  get size(): number {
    return this.all.size
  }

  close(): void {
    for (const inv of this.all.values()) this.ctx.rt.clock.clearTimeout(inv.timer)
    this.all.clear()
    this.byUser.clear()
  }

  /** Hands the invitation to the callee's session; false when it has none. */
  private async deliver(inv: Invitation): Promise<boolean> {
    const frame = encodeFrame({ type: FrameType.INVITE_RECEIVED, caller: inv.caller, id: inv.id, content: inv.content, channel: inv.channel })
    const before = inv.state
    // Its acknowledgement may come back before the engine answers.
    inv.state = 'delivered'
    let delivered = false
    try {
      delivered = await this.ctx.engine.deliver(inv.appId, inv.callee, frame)
    } catch (err) {
      this.ctx.log.error({ err }, 'invitation delivery failed')
    }
    if (this.all.get(inv.key) !== inv || inv.state !== 'delivered') return delivered
    if (!delivered) {
      inv.state = before
      return false
    }
    this.arm(inv, this.ctx.config.invitationNoResponseMs, () => this.fail(inv, InvitationFailureReason.PEER_NO_RESPONSE, false))
    return true
  }

  private fail(inv: Invitation, reason: InvitationFailureReason, tellCallee: boolean): void {
    this.tell(inv, true, InvitationEventKind.FAILURE, reason, '')
    if (tellCallee) this.tell(inv, false, InvitationEventKind.FAILURE, reason, '')
    this.finish(inv)
  }

  /** Tells the caller (`toCaller`) or the callee; false when that user has no session. */
  private tell(inv: Invitation, toCaller: boolean, event: InvitationEventKind, reason: InvitationFailureReason | null, response: string): Promise<boolean> {
    const frame = encodeFrame({
      type: FrameType.INVITE_EVENT,
      peer: toCaller ? inv.callee : inv.caller,
      id: inv.id,
      outgoing: toCaller,
      event,
      reason,
      response,
    })
    inv.told[toCaller ? 'caller' : 'callee'] = { event, reason, response }
    return this.ctx.engine.deliver(inv.appId, toCaller ? inv.caller : inv.callee, frame).catch((err: unknown) => {
      this.ctx.log.error({ err }, 'invitation event not delivered')
      return false
    })
  }

  private arm(inv: Invitation, ms: number, fn: () => void): void {
    this.ctx.rt.clock.clearTimeout(inv.timer)
    inv.timer = this.ctx.rt.clock.setTimeout(fn, ms)
  }

  private finish(inv: Invitation): void {
    this.ctx.rt.clock.clearTimeout(inv.timer)
    this.remember(inv)
    this.all.delete(inv.key)
    for (const uid of [inv.caller, inv.callee]) {
      const set = this.byUser.get(userKey(inv.appId, uid))
      set?.delete(inv)
      if (set?.size === 0) this.byUser.delete(userKey(inv.appId, uid))
    }
  }

  /** Keeps how the invitation ended for each side (only final events: RECEIVED is not an ending). */
  private remember(inv: Invitation): void {
    const now = this.ctx.rt.clock.now()
    const final = (e: OutcomeEvent | null) => (e && e.event !== InvitationEventKind.RECEIVED_BY_PEER ? e : null)
    this.outcomes.delete(inv.key)
    this.outcomes.set(inv.key, { calleeId: inv.callee, caller: final(inv.told.caller), callee: final(inv.told.callee), at: now })
    for (const [k, o] of this.outcomes) {
      if (this.outcomes.size <= MAX_OUTCOMES && now - o.at < OUTCOME_TTL_MS) break
      this.outcomes.delete(k)
    }
  }

  private count(appId: string, caller: string): number {
    let n = 0
    for (const inv of this.byUser.get(userKey(appId, caller)) ?? []) if (inv.caller === caller) n++
    return n
  }
}
