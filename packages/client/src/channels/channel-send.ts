import { ErrorCode, PlazaError, encodeOverlayBody, type OverlayAfter, type TimerHandle } from '@plaza/protocol'
import type { OutgoingBody } from '../delivery/outbox.js'
import type { Runtime } from '../runtime.js'
import type { OverlayMode, UnlinkedMessage } from './channel-overlay.js'
import type { ChannelRoster } from './channel-roster.js'
import type { ChannelHost, ChannelSendResult } from './channel-types.js'

/** Overlay messages whose broadcast-stream seq a channel remembers (the overlay keeps as many to answer repairs). */
const MAX_OVERLAY_COPY_SEQS = 4096
/**
 * Copies sent this long after the sender's last overlay message name it (PeerMessageFrame.after):
 * a member's overlay drains as long after it went back to the full mesh.
 */
const AFTER_OVERLAY_MS = 30_000
/** An overlay message waits at most this long for the copies of the message before it to be settled. */
const COPIES_FIRST_MS = 5_000
/**
 * A copy does not name an overlay message sent more than this long before the member it goes to
 * joined (as this member heard it): that member never gets it (its StreamOrder counts a message
 * sent before its join as not its own) and would hold the copy for nothing — 10 s with no direct
 * link to ask this member for it. The margin covers the member event's way from the node and the
 * clocks' offsets.
 */
const JOINED_AFTER_MARGIN_MS = 2_000

/**
 * The ways a channel message leaves this member: through the overlay (and the node's copy for
 * the members outside it), as one copy per member, or through the node's fan-out (above 512
 * members). A member that switches between them keeps its order at every member: copies name
 * the overlay message they follow, and an overlay message waits for the copies before it.
 */
export class ChannelSender {
  private broadcastSeq = 0
  /** This member's recent overlay messages: seq in its overlay stream → seq of its copy in the broadcast stream. */
  private readonly overlayCopySeqs = new Map<number, number>()
  private readonly broadcastStream: string
  /** This member's last overlay message, while copies sent after it must name it (see AFTER_OVERLAY_MS). */
  private overlayTail: { after: OverlayAfter; at: number } | null = null
  /** When this member last left the channel, and the members then (an overlay message before it is named only to them: see dispatch). */
  private leftAt = -Infinity
  private membersAtLeave: ReadonlySet<string> = new Set()
  /** This member's overlay messages being signed, until the last is out: a copy waits for them, to name the last (see send). */
  private publishing: Promise<unknown> | null = null
  /** The last message's copies, until each is settled: the next overlay message waits for them (see COPIES_FIRST_MS). */
  private copiesSettling: Promise<unknown> | null = null

  constructor(
    private readonly channel: string,
    private readonly host: ChannelHost,
    private readonly rt: Runtime,
    private readonly overlay: OverlayMode,
    private readonly roster: ChannelRoster,
  ) {
    this.broadcastStream = `*${rt.randomId()}`
  }

  /**
   * Resolves when the last message sent has gone into the overlay or out as copies (each send
   * waits for the one before it, so this one for all); sends not out yet: a leave waits for them.
   */
  private lastDispatch: Promise<void> = Promise.resolve()
  private notOut = 0

  async send(body: OutgoingBody, size: number): Promise<ChannelSendResult> {
    // One at a time, in the order sent: a message waiting for the copies before it (copiesFirst)
    // must not be overtaken by the next one, which the channel's mode may send another way.
    const before = this.notOut > 0 ? this.lastDispatch : null
    const sentAt = this.rt.clock.now()
    let out = false
    let markOut = () => {}
    this.lastDispatch = new Promise<void>((r) => (markOut = r))
    this.notOut++
    const dispatched = () => {
      if (out) return
      out = true
      this.notOut--
      markOut()
    }
    try {
      if (before) await before
      return await this.dispatch(body, size, sentAt, dispatched)
    } finally {
      dispatched()
    }
  }

  /** Until every message sent so far has gone into the overlay or out as copies (not until they are acknowledged). */
  async flushSends(): Promise<void> {
    await this.lastDispatch
  }

  private async dispatch(body: OutgoingBody, size: number, sentAt: number, dispatched: () => void): Promise<ChannelSendResult> {
    // Just back from copies to the overlay: a member must have the copies before the overlay message (its path is longer).
    if (this.overlay.publishes && this.copiesSettling) await this.copiesFirst(this.copiesSettling)
    if (this.overlay.publishes) {
      this.host.overlay.takeMessageToken()
      const others = Math.max(0, this.roster.count - 1)
      const publishing = Promise.resolve(this.overlay.publish(body.kind, encodeOverlayBody(body.kind, body.text, body.bytes, body.description)))
      this.publishing = publishing
      // A leave waits for the signing from here on (OverlayMode.flushPublishing).
      dispatched()
      const seq = await publishing.then(
        (seq) => {
          if (this.publishing === publishing) this.publishing = null
          return seq
        },
        (err: unknown) => {
          if (this.publishing === publishing) this.publishing = null
          // The overlay stopped while the message was being signed (removed from the channel, logged out): it went nowhere.
          if (err instanceof PlazaError && err.code === ErrorCode.INVALID_STATE) throw new PlazaError(ErrorCode.NOT_IN_CHANNEL, `out of ${this.channel} before the message went out`)
          throw err
        },
      )
      const stream = this.overlay.ownStreamId
      if (stream !== null) this.overlayTail = { after: { stream, seq }, at: this.rt.clock.now() }
      // Every overlay message has a seq in the broadcast stream, sent or not (see goOutside).
      const copySeq = ++this.broadcastSeq
      this.overlayCopySeqs.set(seq, copySeq)
      if (this.overlayCopySeqs.size > MAX_OVERLAY_COPY_SEQS) this.overlayCopySeqs.delete(this.overlayCopySeqs.keys().next().value!)
      // Members outside the overlay get their copy through the node (one upload for all of them).
      const outside = this.overlay.outsideCount
      if (outside === 0) return { members: others, received: 0, failures: [], unconfirmed: others }
      try {
        await this.host.broadcast(this.channel, body, this.broadcastStream, copySeq, 'outside', false)
        return { members: others, received: 0, failures: [], unconfirmed: others }
      } catch {
        return { members: others, received: 0, failures: [], unconfirmed: Math.max(0, others - outside), outsideNotSent: outside }
      }
    }
    // Back to copies while an overlay message before this one is still being signed: the copy must
    // name that one (a member holds it until the overlay delivered it), so it waits for it to go out.
    if (this.publishing) {
      await this.publishing.catch(() => undefined)
      return this.dispatch(body, size, sentAt, dispatched)
    }
    // Overlay messages that reached nobody (no link yet) are not pushed later any more: they would
    // come after this one. Members get them by asking (the copy names the last; AfterGate).
    this.overlay.takeUnlinked()
    // Outside the overlay a member sends as in a full mesh (a copy per member, acknowledged); above 512 members, through the node's fan-out.
    // Soon after its last overlay message, each copy names it: a member gets it after that one.
    // Not to a member that joined since (it never gets it): one this member heard join well after
    // it, or, when it was sent before this member last left, one that was not a member then.
    const tail = this.overlayTail && sentAt - this.overlayTail.at < AFTER_OVERLAY_MS ? this.overlayTail : null
    const copy = tail ? { ...body, after: tail.after } : body
    const joinedAfterTail = (member: string) =>
      tail !== null && ((this.roster.joinHeardAt(member) ?? -Infinity) - JOINED_AFTER_MARGIN_MS > tail.at || (tail.at < this.leftAt && !this.membersAtLeave.has(member)))
    if (!this.roster.exact) {
      const others = Math.max(0, this.roster.count - 1)
      const sent = this.host.broadcast(this.channel, copy, this.broadcastStream, ++this.broadcastSeq, 'all', true)
      dispatched()
      await sent
      return { members: others, received: 0, failures: [], unconfirmed: others }
    }
    const sending = this.host.sendChannelCopies([...this.roster.ids], copy === body ? body : (member) => (joinedAfterTail(member) ? body : copy), size)
    dispatched()
    this.copiesSettling = sending
    const done = () => {
      if (this.copiesSettling === sending) this.copiesSettling = null
    }
    sending.then(done, done)
    const copies = await sending
    const failures = copies.filter((c) => !c.result.hasPeerReceived).map((c) => ({ memberId: c.member, state: c.result.state }))
    return { members: copies.length, received: copies.length - failures.length, failures, unconfirmed: 0 }
  }

  /**
   * Our direct links all failed: the node counts us outside and the overlay's members send us
   * copies through it; what reached nobody goes to all through the node.
   */
  goOutside(unsent: UnlinkedMessage[]): void {
    for (const m of unsent) {
      const body = { channel: this.channel, kind: m.kind, text: m.text, bytes: m.bytes, description: m.description }
      // With the seq its copy for the members outside had (if it went): they drop it as one they have.
      // Counted against the message rate when first sent.
      const seq = this.overlayCopySeqs.get(m.seq) ?? ++this.broadcastSeq
      this.host.broadcast(this.channel, body, this.broadcastStream, seq, 'all', false).catch(() => undefined)
    }
    this.overlayCopySeqs.clear()
  }

  /** Out of the channel: left, removed, or logged out (called before its members are forgotten). */
  leaving(): void {
    this.leftAt = this.rt.clock.now()
    // Only while a copy may still name this member's last overlay message.
    this.membersAtLeave = this.overlayTail && this.leftAt - this.overlayTail.at < AFTER_OVERLAY_MS ? new Set(this.roster.ids) : new Set()
    this.overlayCopySeqs.clear()
  }

  /** Waits for the copies of the message before (COPIES_FIRST_MS at most: a member gone does not hold the channel up). */
  private async copiesFirst(settling: Promise<unknown>): Promise<void> {
    let timer: TimerHandle | null = null
    await Promise.race([settling, new Promise<void>((r) => (timer = this.rt.clock.setTimeout(r, COPIES_FIRST_MS, true)))])
    this.rt.clock.clearTimeout(timer)
  }
}
