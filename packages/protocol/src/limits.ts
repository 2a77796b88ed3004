/** Protocol version spoken by this build; sent in LOGIN, refused by a node that does not speak it. */
export const PROTOCOL_VERSION = 1

/** Hard limits of the wire format. Nodes may be configured tighter, never looser. */
export const MAX_ID_BYTES = 64
/** A peer or channel message body (text as UTF-8, or raw bytes). */
export const MAX_MESSAGE_BYTES = 32 * 1024
export const MAX_DESCRIPTION_BYTES = 256
/** A peer frame carries a message plus its small header. */
export const MAX_PEER_FRAME_BYTES = MAX_MESSAGE_BYTES + MAX_DESCRIPTION_BYTES + 256
/** Largest frame a node accepts on its WebSocket; larger ones are closed with 1009 by ws. */
export const MAX_WS_FRAME_BYTES = 128 * 1024
export const MAX_TOKEN_BYTES = 2048
export const MAX_SIGNAL_BYTES = 16 * 1024
export const MAX_IDS_PER_LIST = 512
export const MAX_OFFLINE_BATCH = 200

/** Defaults from SPEC.md; a node may configure its own and tells clients in LOGIN_OK. */
export const DEFAULT_LIMITS = {
  presenceQueryIds: 256,
  presenceSubscribeIds: 512,
  offlineMessagesPerReceiver: 200,
  offlineRetentionMs: 7 * 24 * 3600 * 1000,
  unreachableAfterMs: 6_000,
  offlineAfterMs: 30_000,
  pingIntervalMs: 2_000,
  tokenWillExpireMs: 30_000,
} as const

/** Rate limits per session: `count` events per `windowMs`. */
export interface RateLimit {
  count: number
  windowMs: number
}

export const DEFAULT_RATE_LIMITS = {
  /** Peer and channel messages together (relay and direct). */
  messages: { count: 1500, windowMs: 3000 },
  presenceQueries: { count: 100, windowMs: 5000 },
  /** WebRTC signaling frames (offers, answers, candidates). */
  signaling: { count: 600, windowMs: 3000 },
  /** Token renewals and other session requests. */
  session: { count: 20, windowMs: 5000 },
} as const satisfies Record<string, RateLimit>

export type RateLimitName = keyof typeof DEFAULT_RATE_LIMITS
