/** The outbox's types: what it is given, what it answers, what it saves. */
import type { MessageKind, OverlayAfter, PeerMessageState, RelayStatus } from '@plaza/protocol'
import type { PeerOutbox } from './outbox.js'

export type Path = 'direct' | 'relay' | 'offline'

export interface SendResult {
  state: PeerMessageState
  /** True when the receiver's app got the message (RECEIVED_BY_PEER). */
  hasPeerReceived: boolean
  /** The path of the copy that settled it; null when it never left. */
  path: Path | null
}

export interface OutgoingBody {
  /** '' for a peer message. */
  channel: string
  kind: MessageKind
  text: string
  bytes: Uint8Array
  description: string
  /** A channel copy: the sender's overlay message it follows (PeerMessageFrame.after). */
  after?: OverlayAfter | null
}

export interface Outgoing extends OutgoingBody {
  seq: number
  offline: boolean
  size: number
  createdAt: number
  deadline: number
  /** Kept past the send timeout, for a member that comes back (channel messages). */
  recoverable: boolean
  /** When the last copy left; 0 = never sent. */
  sentAt: number
  /** When the copy out is sent again if nothing is heard (see PeerOutbox.tick). */
  dueAt: number
  /** Retransmissions on timeout so far: each doubles the wait (exponential backoff). */
  backoff: number
  /** The last copy did not leave (not connected, refused for now): it goes again at `dueAt` whatever the progress. */
  retry: boolean
  /** The node took the last copy and handed it to the receiver's session (RELAYED): when. 0 = not (yet). */
  acceptedAt: number
  path: Path | null
  attempts: number
  /**
   * A copy may have reached the receiver (it went over a direct link, the node relayed it, or
   * the node's answer was lost): from then on no outcome may claim it was not received.
   */
  uncertain: boolean
  /**
   * The node answered "peer offline" to a copy after an earlier one may have arrived (or before
   * a reload: not known). The node then tells the receiver to skip this seq at its next login,
   * so the receiver's "missing" proves nothing: an instance of it that crashed before saving may
   * have delivered the message. Such a message ends SENT_TIMEOUT, not FAILURE.
   */
  skipNoted: boolean
  /** Relay requests sent and not answered yet: each may be delivering a copy right now. */
  relaysOut: number
  /** The caller was told already (SENT_TIMEOUT at the send timeout while a recoverable copy goes on). */
  reported: boolean
  resolve: (r: SendResult) => void
}

export interface OutboxTransport {
  /** Sends over an open direct link; false if there is none (or it is full). */
  direct(uid: string, bytes: Uint8Array): boolean
  /** A direct link to the receiver is open now. */
  linkOpen?(uid: string): boolean
  /** Relays through the rendezvous; rejects with PlazaError (NOT_CONNECTED when offline). */
  relay(uid: string, bytes: Uint8Array, offline: boolean): Promise<RelayStatus>
  /** The peer was reached through the relay, so it is online: a direct link is worth building. */
  peerReachable(uid: string): void
  /** The node says the peer has no session (PEER_OFFLINE): any direct link to it is dead. */
  peerGone(uid: string): void
  /** The receiver is in `channel` as far as this client knows (the node's last word). */
  isMember(channel: string, uid: string): boolean
  /**
   * A TOO_OFTEN from the node comes from this client's own retransmissions through the relay
   * (after an outage, say), not from the app's rate: the message waits its turn instead.
   */
  withinRate?(): boolean
  /** A copy goes through the relay again (it counts against the node's rate like a new one). */
  resentByRelay?(): void
}

export interface OutboxOptions {
  /** A message not settled in this time resolves SENT_TIMEOUT. Default 10 s. */
  timeoutMs: number
  /**
   * Retransmission timeout before the first round trip is measured; afterwards it adapts per
   * path (smoothed round trip and its variance, as TCP's RFC 6298). Default 2 s.
   */
  retransmitMs: number
  /** A copy the node accepted is sent again on a timeout only after at least this long (see tick). Default 5 s. */
  acceptedWaitMs?: number
  /** Bounds of the adaptive timeout. Defaults 500 ms and 8 s. */
  minRetransmitMs?: number
  maxRetransmitMs?: number
  /** Flow control: most messages and bytes unacknowledged per receiver. */
  windowMessages: number
  windowBytes: number
  /**
   * Most bytes unacknowledged while a direct link is open (default `windowBytes`): a data channel
   * carries more in flight than the node should hold for one receiver.
   */
  directWindowBytes?: number
  /** Recoverable messages past `timeoutMs` kept at most this many per receiver. */
  recoveryMessages: number
}

/** A peer message as it survives a reload. */
export interface SavedMessage {
  seq: number
  offline: boolean
  kind: MessageKind
  text: string
  bytes: Uint8Array
  description: string
}

/** What survives a reload: the stream, where it stands, and its unsettled peer messages. */
export interface OutboxSnapshot {
  stream: string
  /** No seq at or above this was ever sent: a page that goes on with the stream starts here. */
  nextSeq: number
  items: SavedMessage[]
  /** Seqs the node's store holds for the receiver and the receiver has not acknowledged yet. */
  stored: number[]
}

/**
 * Seqs a stream may use before its reservation is saved. A reloaded page goes on with a stream
 * from the saved reservation, so a seq is never used twice (a receiver would take the second
 * message for the first and drop it).
 */
export interface SeqReservation {
  /** Seqs below this may be sent (Infinity: nothing is saved, a reload starts a new stream). */
  reserved: number
  /** The ceiling being saved now, or 0. */
  saving: number
  /** Asks for a higher ceiling to be saved; the outbox pumps again once it is. */
  request(box: PeerOutbox): void
}

export interface SendOptions {
  offline: boolean
  /** Overrides the options' timeout (channel copies are kept longer). */
  timeoutMs?: number
  recoverable?: boolean
}
