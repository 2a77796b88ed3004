import type { Clock, MemberCert, MessageKind, PlazaError } from '@plaza/protocol'

export type MaybePromise<T> = T | Promise<T>

/**
 * Ed25519 for the overlay. Either synchronous (node:crypto, a simulation) or asynchronous
 * (WebCrypto): the overlay takes both.
 */
export interface OverlayCrypto {
  /** Signs with this member's private key (the one its certificate vouches for). */
  sign(data: Uint8Array): MaybePromise<Uint8Array>
  /** Whether `sig` is `pubkey`'s (raw 32-byte Ed25519) signature of `data`. Never throws for bad input: false. */
  verify(pubkey: Uint8Array, data: Uint8Array, sig: Uint8Array): MaybePromise<boolean>
}

/** A channel message as the overlay hands it to the app: each once, in its origin's order. */
export interface OverlayDelivery {
  origin: string
  stream: string
  seq: number
  sentTs: number
  kind: MessageKind
  body: Uint8Array
  /** Links it travelled. */
  hops: number
}

export type OverlayEvent =
  /** A frame from `from` was refused (bad bytes, bad signature, muted origin…): dropped, nothing else happens. */
  | { type: 'rejected'; from: string; error: PlazaError }
  | { type: 'link-up'; peer: string }
  | { type: 'link-down'; peer: string }
  /** A gap in `origin`'s stream could not be filled within gapGiveUpMs: seqs [from, to] are skipped. */
  | { type: 'skipped'; origin: string; stream: string; from: number; to: number }

/** What the overlay needs from its host (the client in a channel, or a simulation). */
export interface OverlayDeps {
  app: string
  channel: string
  /** This member's user id. */
  self: string
  clock: Clock
  /** Uniform in [0, 1): link choices (seeded in a simulation). */
  random: () => number
  crypto: OverlayCrypto
  /** The node's Ed25519 public key (raw, 32 bytes): it signs member certificates. */
  nodeKey: Uint8Array
  /** This member's certificate, from the node at join. */
  cert: MemberCert
  /** Sends overlay frame bytes to a member (over its link; the host opens it on first use). */
  send(peer: string, bytes: Uint8Array): void
  /** A message for the app. */
  deliver(d: OverlayDelivery): void
  /** Asks the node for more members to link to; they come back through addCandidates. */
  requestCandidates?(): void
  /** Whether messages from `origin` may pass (membership and mutes, as the node told): checked at every hop. */
  originAllowed?(origin: string): boolean
  onEvent?(e: OverlayEvent): void
  /**
   * True while the host is still opening the link to `peer` (frames for it wait): a NEIGHBOR
   * request is not given up meanwhile — the host bounds the wait and reports a link that never
   * opens (linkDown) — and its answer is awaited from when the link opens (linkReady).
   */
  linkOpening?(peer: string): boolean
  /**
   * Whether this member may ask an origin itself for a gap its neighbours could not fill (see
   * originPullAfterTries): the host bounds how many members do, so that a message lost in a
   * large channel does not send every member (and a link set-up each) to one origin.
   */
  pullsOrigin?(): boolean
  /** When this member joined (default now): messages sent before it are not delivered. */
  joinedAt?: number
  /** This origin's stream id (random per client instance). */
  stream: string
  /**
   * Where this member's stream stands when it goes on from an earlier overlay of the same
   * client (it left and joined again, the channel went back to the full mesh and out again):
   * one stream for the client's life keeps its messages in one order at every member.
   */
  resume?: OwnStream
}

/** How far this member's own stream has got: its last seq and that message's sentTs. */
export interface OwnStream {
  seq: number
  lastSentTs: number
}
