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
  /** The peer is offline and the node's offline store refused the message: this sender (or the app) has too much stored. */
  OFFLINE_QUOTA_EXCEEDED = 'OFFLINE_QUOTA_EXCEEDED',
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
  /**
   * Receiver offline and the frame asked to be stored, but it is a media message whose file is not
   * in the node's media store: upload the file (PUT /media/{mediaId}), then send it again.
   */
  MEDIA_WANTED = 3,
}

export enum LocalInvitationState {
  IDLE = 'IDLE',
  SENT_TO_REMOTE = 'SENT_TO_REMOTE',
  RECEIVED_BY_REMOTE = 'RECEIVED_BY_REMOTE',
  ACCEPTED_BY_REMOTE = 'ACCEPTED_BY_REMOTE',
  REFUSED_BY_REMOTE = 'REFUSED_BY_REMOTE',
  CANCELED = 'CANCELED',
  FAILURE = 'FAILURE',
}

export enum RemoteInvitationState {
  INVITATION_RECEIVED = 'INVITATION_RECEIVED',
  ACCEPT_SENT_TO_LOCAL = 'ACCEPT_SENT_TO_LOCAL',
  REFUSED = 'REFUSED',
  ACCEPTED = 'ACCEPTED',
  CANCELED = 'CANCELED',
  FAILURE = 'FAILURE',
}

export enum InvitationFailureReason {
  /** The callee stayed offline 30 s after the invitation was sent (for the callee: the caller went offline). */
  PEER_OFFLINE = 'PEER_OFFLINE',
  /** The callee did not acknowledge it within 30 s. */
  PEER_NO_RESPONSE = 'PEER_NO_RESPONSE',
  /** Not answered 60 s after it was received. */
  INVITATION_EXPIRE = 'INVITATION_EXPIRE',
  NOT_LOGGEDIN = 'NOT_LOGGEDIN',
  /** The callee's acceptance did not reach the caller. */
  ACCEPT_FAILURE = 'ACCEPT_FAILURE',
}

/** Wire codes of InvitationFailureReason (index = code). */
export const INVITATION_FAILURE_REASONS = [
  InvitationFailureReason.PEER_OFFLINE,
  InvitationFailureReason.PEER_NO_RESPONSE,
  InvitationFailureReason.INVITATION_EXPIRE,
  InvitationFailureReason.NOT_LOGGEDIN,
  InvitationFailureReason.ACCEPT_FAILURE,
] as const

/** What happened to an invitation, as the node tells caller and callee. */
export enum InvitationEventKind {
  RECEIVED_BY_PEER = 0,
  ACCEPTED = 1,
  REFUSED = 2,
  CANCELED = 3,
  FAILURE = 4,
}
