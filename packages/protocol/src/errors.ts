/**
 * Stable error codes. Every refusal on every wire carries one of these; the client surfaces
 * them as `PlazaError.code`. Numbers are the wire form and never change meaning.
 */
export enum ErrorCode {
  OK = 0,
  // framing and validation
  MALFORMED_FRAME = 1,
  UNKNOWN_FRAME = 2,
  FRAME_TOO_LARGE = 3,
  UNSUPPORTED_VERSION = 4,
  INVALID_USER_ID = 5,
  INVALID_CHANNEL_ID = 6,
  INVALID_MESSAGE = 7,
  INVALID_ARGUMENT = 8,
  TOO_MANY_IDS = 9,
  UNEXPECTED_FRAME = 10,
  INVALID_ATTRIBUTE_KEY = 11,
  ATTRIBUTES_TOO_LARGE = 12,
  TOO_MANY_CHANNELS = 13,
  ALREADY_IN_CHANNEL = 14,
  NOT_IN_CHANNEL = 15,
  /** A method called in a state that does not allow it (e.g. accept() after refuse()). */
  INVALID_STATE = 16,
  UNKNOWN_INVITATION = 17,
  /** A channel document update made on an older generation of the document (it was compacted). */
  STALE_EPOCH = 18,
  // auth and session
  INVALID_APP_ID = 20,
  INVALID_TOKEN = 21,
  TOKEN_EXPIRED = 22,
  NOT_LOGGED_IN = 23,
  ALREADY_LOGGED_IN = 24,
  REMOTE_LOGIN = 25,
  BANNED = 26,
  /** The token's grants do not allow it (join, publish, write attributes, moderate), or a moderator forbade it. */
  NOT_PERMITTED = 27,
  // limits
  TOO_OFTEN = 30,
  /** A quota is used up (e.g. what a sender or an app holds in the offline store). */
  QUOTA_EXCEEDED = 31,
  // routing
  PEER_OFFLINE = 40,
  PEER_UNREACHABLE = 41,
  // node and client
  TIMEOUT = 50,
  INTERNAL = 51,
  SHUTTING_DOWN = 52,
  DESTROYED = 53,
  NOT_CONNECTED = 54,
  /** The connection dropped after the request was sent: whether the node acted on it is unknown. */
  CONNECTION_LOST = 55,
  /** The node cannot reach what the request needs (its engine's store, e.g. Redis): try again later. */
  UNAVAILABLE = 56,
  /**
   * A warning, not an error: no WebRTC here (no RTCPeerConnection in this browser, no
   * `@roamhq/wrtc` in Node), so this client sends everything through the node (relay only).
   */
  WEBRTC_UNAVAILABLE = 57,
  // media
  /** A file over the app's (or the client's) size limit. */
  MEDIA_TOO_LARGE = 60,
  /** No holder knows this media id (unknown, expired, or released by everyone who had it). */
  MEDIA_NOT_FOUND = 61,
  /** No holder of the media id is reachable now (the sender went offline): resumable when one returns. */
  MEDIA_UNAVAILABLE = 62,
  /** Bytes that do not match the media id's hashes (a holder sent bad data; they were discarded). */
  MEDIA_INTEGRITY = 63,
  /** The download was cancelled through its AbortSignal. */
  CANCELLED = 64,
}

const KNOWN_CODES = new Set<number>(
  Object.values(ErrorCode).filter((v): v is number => typeof v === 'number'),
)

export function isErrorCode(n: number): n is ErrorCode {
  return KNOWN_CODES.has(n)
}

/** An error with a stable code; thrown by the codec and used by client and rendezvous alike. */
export class PlazaError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message?: string) {
    super(message ?? ErrorCode[code] ?? `error ${code}`)
    this.name = 'PlazaError'
    this.code = code
  }
  /** The code's name, e.g. "TOO_OFTEN". */
  get codeName(): string {
    return ErrorCode[this.code] ?? String(this.code)
  }
}

/** Thrown by the codec for bytes that are not a valid frame. */
export class ProtocolError extends PlazaError {
  constructor(code: ErrorCode, message?: string) {
    super(code, message)
    this.name = 'ProtocolError'
  }
}

/** WebSocket close codes a node uses (4000–4999 are the application's range). */
export enum CloseCode {
  GOING_AWAY = 1001,
  POLICY = 1008,
  TOO_BIG = 1009,
  /** Another connection resumed this session. */
  REPLACED = 4000,
  LOGIN_TIMEOUT = 4001,
  TOO_MANY_ERRORS = 4002,
  REMOTE_LOGIN = 4003,
  LOGOUT = 4004,
  TOKEN_EXPIRED = 4005,
  LOGIN_FAILED = 4006,
  /** The client did not read what the node sent it (its unsent output passed the node's cap). */
  SLOW_READER = 4007,
}
