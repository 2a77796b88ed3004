/** Connection states, as users of hosted messaging SDKs know them. */
export enum ConnectionState {
  DISCONNECTED = 'DISCONNECTED',
  CONNECTING = 'CONNECTING',
  CONNECTED = 'CONNECTED',
  RECONNECTING = 'RECONNECTING',
  ABORTED = 'ABORTED',
}

export enum ConnectionChangeReason {
  LOGIN = 'LOGIN',
  LOGIN_SUCCESS = 'LOGIN_SUCCESS',
  LOGIN_FAILURE = 'LOGIN_FAILURE',
  LOGIN_TIMEOUT = 'LOGIN_TIMEOUT',
  INTERRUPTED = 'INTERRUPTED',
  LOGOUT = 'LOGOUT',
  BANNED_BY_SERVER = 'BANNED_BY_SERVER',
  REMOTE_LOGIN = 'REMOTE_LOGIN',
  TOKEN_EXPIRED = 'TOKEN_EXPIRED',
}

/** Outcome of `sendMessageToPeer`. */
export enum PeerMessageState {
  RECEIVED_BY_PEER = 'RECEIVED_BY_PEER',
  CACHED_BY_SERVER = 'CACHED_BY_SERVER',
  PEER_UNREACHABLE = 'PEER_UNREACHABLE',
  SENT_TIMEOUT = 'SENT_TIMEOUT',
  TOO_OFTEN = 'TOO_OFTEN',
  INVALID_USER_ID = 'INVALID_USER_ID',
  INVALID_MESSAGE = 'INVALID_MESSAGE',
  NOT_LOGGED_IN = 'NOT_LOGGED_IN',
  FAILURE = 'FAILURE',
}

export enum PeerOnlineState {
  ONLINE = 'ONLINE',
  UNREACHABLE = 'UNREACHABLE',
  OFFLINE = 'OFFLINE',
}

/** Wire order of PeerOnlineState (a state's index is its code). */
export const PEER_ONLINE_STATES = [PeerOnlineState.ONLINE, PeerOnlineState.UNREACHABLE, PeerOnlineState.OFFLINE] as const

/** What the rendezvous did with a relayed frame. */
export enum RelayStatus {
  /** Handed to the receiver's live session (or queued for its resume). */
  RELAYED = 0,
  /** Receiver offline; written durably to the offline store. */
  STORED = 1,
  /** Receiver offline and the frame asked not to be stored. */
  PEER_OFFLINE = 2,
}
