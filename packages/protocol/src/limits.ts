/** Protocol version spoken by this build; sent in LOGIN, refused by a node that does not speak it. */
export const PROTOCOL_VERSION = 4
/** The oldest protocol a node still speaks: 2 has no BATCH and answers every relay request with its own RELAY_RESULT. */
export const MIN_PROTOCOL_VERSION = 2
/** Frames in one BATCH, and relay requests answered by one RELAYED. */
export const MAX_BATCH_FRAMES = 1024

// ---- channel overlay (issue 14, protocol 4) ----
/** The first protocol whose sessions get the node key in LOGIN_OK and may send overlay keys. */
export const OVERLAY_MIN_PROTOCOL = 4
/** Members one OVERLAY_CANDIDATES may ask for. */
export const MAX_OVERLAY_CANDIDATES = 32
/** The node signs a member certificate for this long; the member joins again to renew it. */
export const OVERLAY_CERT_TTL_MS = 3600 * 1000
/** An overlay public key field is read up to this many bytes (the node wants 32 and answers INVALID_ARGUMENT otherwise). */
export const MAX_OVERLAY_KEY_FIELD_BYTES = 64
// ---- end channel overlay ----

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
/** Streams a drop notice names in one offline batch. */
export const MAX_OFFLINE_DROPS = 256
/** Sequence ranges in one acknowledgement or drop notice. */
export const MAX_SEQ_RANGES = 16
/** Invitations one INVITE_SYNC asks about (each direction). */
export const MAX_INVITE_SYNC = 256
/** Yjs sync and awareness messages on either wire. */
export const MAX_DOC_PAYLOAD_BYTES = 96 * 1024
/** A channel document's whole state on the node (attributes plus Yjs bookkeeping). */
export const MAX_DOC_STATE_BYTES = 64 * 1024

export const MAX_INVITATION_CONTENT_BYTES = 8 * 1024
/** Outgoing invitations a session may have under way at once. */
export const MAX_PENDING_INVITATIONS = 64

export const MAX_CHANNELS_JOINED = 20
export const MAX_MEMBER_COUNT_CHANNELS = 32
/** getMembers answers at most this many (a random sample above it); no join/leave events above it. */
export const MAX_MEMBERS_LISTED = 512
export const MAX_ATTRIBUTE_KEYS = 32
export const MAX_ATTRIBUTE_KEY_BYTES = 32
export const MAX_ATTRIBUTE_VALUE_BYTES = 8 * 1024
export const MAX_CHANNEL_ATTRIBUTES_BYTES = 32 * 1024
export const MAX_USER_ATTRIBUTES_BYTES = 16 * 1024

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
  /** A channel message copy is kept for a member that does not acknowledge it this long... */
  channelRecoveryMs: 30_000,
  /** ...but at most this many per member beyond the normal send timeout. */
  channelRecoveryMessages: 32,
  /** MemberCountUpdated at most this often (and every 3 s above MAX_MEMBERS_LISTED members). */
  memberCountIntervalMs: 1000,
  /** An invitation to a callee still offline this long after it was sent fails PEER_OFFLINE. */
  invitationOfflineMs: 30_000,
  /** ...to an online callee that does not acknowledge it in this time, PEER_NO_RESPONSE. */
  invitationNoResponseMs: 30_000,
  /** ...received but not answered in this time, INVITATION_EXPIRE. */
  invitationExpireMs: 60_000,
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
  attributeWrites: { count: 100, windowMs: 5000 },
  attributeReads: { count: 400, windowMs: 5000 },
  joins: { count: 50, windowMs: 3000 },
  /** Joins of one and the same channel. */
  sameChannelJoins: { count: 2, windowMs: 5000 },
  memberCounts: { count: 1, windowMs: 1000 },
  invitations: { count: 30, windowMs: 5000 },
  /**
   * Relayed copies of channel messages and Yjs updates. A channel message to n members costs
   * n copies; the SDK enforces the logical 1500 messages per 3 s, the node bounds the copies.
   */
  channelRelay: { count: 12000, windowMs: 3000 },
  /**
   * Bytes the node sends on a session's behalf: an awareness or document update times the
   * members it goes to, a broadcast likewise, member lists and attribute answers.
   */
  fanoutBytes: { count: 16 * 1024 * 1024, windowMs: 3000 },
  /** OVERLAY_CANDIDATES requests (a member asks when it needs links). */
  overlayCandidates: { count: 20, windowMs: 5000 },
} as const satisfies Record<string, RateLimit>

export type RateLimitName = keyof typeof DEFAULT_RATE_LIMITS
