/**
 * Errors shaped like agora-rtm-sdk 1.x's: a class per kind (RtmInvalidArgumentError,
 * RtmTimeoutError, ...) with the SDK's numeric `code` for the operation that failed (LOGIN_ERR_*,
 * PEER_MESSAGE_ERR_*, ATTRIBUTE_OPERATION_ERR_*, ... with the SDK's values). `plazaCode` names
 * the Plaza error underneath (e.g. "TOO_OFTEN"), `originalError` is that error.
 */
import { ErrorCode, PlazaError } from '@plaza/protocol'

export class RtmError extends Error {
  code: number | undefined
  serverCode: number | undefined
  originalError: unknown
  /** The @plaza/protocol error code's name, when a Plaza error caused it. */
  plazaCode: string | undefined
  constructor(message: string, code?: number) {
    super(message)
    this.name = 'RtmError'
    this.code = code
    this.serverCode = undefined
    this.originalError = undefined
    this.plazaCode = undefined
    // Transpiled `extends Error` loses the prototype in ES5 runtimes; keep instanceof working.
    Object.setPrototypeOf(this, new.target.prototype)
  }
}

export class RtmInvalidArgumentError extends RtmError {
  constructor(message: string, code?: number) {
    super(message, code)
    this.name = 'RtmInvalidArgumentError'
  }
}
export class RtmInvalidStatusError extends RtmError {
  constructor(message: string, code?: number) {
    super(message, code)
    this.name = 'RtmInvalidStatusError'
  }
}
export class RtmTimeoutError extends RtmError {
  constructor(message: string, code?: number) {
    super(message, code)
    this.name = 'RtmTimeoutError'
  }
}
export class RtmInvokeTooOftenError extends RtmError {
  constructor(message: string, code?: number) {
    super(message, code)
    this.name = 'RtmInvokeTooOftenError'
  }
}
export class RtmLimitExceededError extends RtmError {
  constructor(message: string, code?: number) {
    super(message, code)
    this.name = 'RtmLimitExceededError'
  }
}
export class RtmUnauthenticatedError extends RtmError {
  constructor(message: string, code?: number) {
    super(message, code)
    this.name = 'RtmUnauthenticatedError'
  }
}
export class RtmUnavailableError extends RtmError {
  constructor(message: string, code?: number) {
    super(message, code)
    this.name = 'RtmUnavailableError'
  }
}
export class RtmUnknownError extends RtmError {
  constructor(message: string, code?: number) {
    super(message, code)
    this.name = 'RtmUnknownError'
  }
}
export class RtmInternalError extends RtmError {
  constructor(message: string, code?: number) {
    super(message, code)
    this.name = 'RtmInternalError'
  }
}
export type RtmErrorClass = typeof RtmError

/** What went wrong, independent of the operation; each operation's table gives the SDK's number. */
type Kind =
  | 'failure'
  | 'argument'
  | 'userId'
  | 'timeout'
  | 'often'
  | 'notLoggedIn'
  | 'notInChannel'
  | 'alreadyJoined'
  | 'alreadyLogin'
  | 'token'
  | 'tokenExpired'
  | 'appId'
  | 'limit'
  | 'rejected'
  | 'notStarted'
  | 'alreadyEnd'
  | 'alreadyAccept'
  | 'alreadySent'

type Table = Partial<Record<Kind, number>> & { failure: number }

/** agora-rtm-sdk 1.5.1's error codes, per operation (values read from the SDK). */
export const RtmErrorCode = {
  CREATE_INSTANCE: { failure: 1, argument: 1 },
  LOGIN: { failure: 1, rejected: 2, argument: 3, userId: 3, appId: 4, token: 5, tokenExpired: 6, alreadyLogin: 8, timeout: 9, often: 10, notLoggedIn: 201 },
  LOGOUT: { failure: 102, notLoggedIn: 102 },
  RENEW_TOKEN: { failure: 1, argument: 2, rejected: 3, often: 4, tokenExpired: 5, token: 6, notLoggedIn: 102 },
  PEER_MESSAGE: { failure: 1, timeout: 2, often: 5, userId: 6, argument: 7, limit: 7, notLoggedIn: 102 },
  CHANNEL_MESSAGE: { failure: 1, timeout: 2, often: 3, argument: 4, limit: 4, notInChannel: 5, notLoggedIn: 102 },
  CREATE_CHANNEL: { failure: 1, argument: 1 },
  JOIN_CHANNEL: { failure: 1, rejected: 2, argument: 3, timeout: 4, limit: 5, alreadyJoined: 6, often: 7, notLoggedIn: 102 },
  LEAVE_CHANNEL: { failure: 1, rejected: 2, notInChannel: 3, notLoggedIn: 102 },
  GET_MEMBERS: { failure: 1, rejected: 2, timeout: 3, often: 4, notInChannel: 5, notLoggedIn: 102 },
  ATTRIBUTE_OPERATION: { failure: 2, argument: 3, userId: 3, limit: 4, often: 5, timeout: 7, notLoggedIn: 102 },
  QUERY_PEERS_ONLINE_STATUS: { failure: 3, argument: 2, userId: 2, limit: 2, rejected: 3, timeout: 4, often: 5, notLoggedIn: 102 },
  PEER_SUBSCRIPTION_STATUS: { failure: 1, argument: 2, userId: 2, rejected: 3, timeout: 4, often: 5, limit: 6, notLoggedIn: 102 },
  QUERY_PEERS_BY_SUBSCRIPTION_OPTION: { failure: 1, timeout: 2, often: 3, notLoggedIn: 102 },
  GET_CHANNEL_MEMBER_COUNT: { failure: 1, argument: 2, often: 3, timeout: 4, limit: 5, notLoggedIn: 102 },
  INVITATION_API_CALL: { failure: 1, argument: 1, notStarted: 2, alreadyEnd: 3, alreadyAccept: 4, alreadySent: 5 },
  /** Media messages (agora-rtm-sdk 1.4; 1.5.1 has no codes for them): Plaza's own numbering. */
  MEDIA: { failure: 1, argument: 2, limit: 3, timeout: 4, often: 5, notLoggedIn: 102 },
} satisfies Record<string, Table>

export type Operation = keyof typeof RtmErrorCode

function kindOf(code: ErrorCode): Kind {
  switch (code) {
    case ErrorCode.INVALID_USER_ID:
      return 'userId'
    case ErrorCode.INVALID_ARGUMENT:
    case ErrorCode.INVALID_CHANNEL_ID:
    case ErrorCode.INVALID_MESSAGE:
    case ErrorCode.INVALID_ATTRIBUTE_KEY:
    case ErrorCode.MALFORMED_FRAME:
      return 'argument'
    case ErrorCode.TIMEOUT:
      return 'timeout'
    case ErrorCode.TOO_OFTEN:
      return 'often'
    case ErrorCode.NOT_LOGGED_IN:
    case ErrorCode.NOT_CONNECTED:
    case ErrorCode.DESTROYED:
      return 'notLoggedIn'
    case ErrorCode.NOT_IN_CHANNEL:
      return 'notInChannel'
    case ErrorCode.ALREADY_IN_CHANNEL:
      return 'alreadyJoined'
    case ErrorCode.ALREADY_LOGGED_IN:
      return 'alreadyLogin'
    case ErrorCode.INVALID_TOKEN:
      return 'token'
    case ErrorCode.TOKEN_EXPIRED:
      return 'tokenExpired'
    case ErrorCode.INVALID_APP_ID:
      return 'appId'
    case ErrorCode.ATTRIBUTES_TOO_LARGE:
    case ErrorCode.TOO_MANY_IDS:
    case ErrorCode.TOO_MANY_CHANNELS:
    case ErrorCode.QUOTA_EXCEEDED:
    case ErrorCode.MEDIA_TOO_LARGE:
      return 'limit'
    case ErrorCode.BANNED:
    case ErrorCode.NOT_PERMITTED:
    case ErrorCode.REMOTE_LOGIN:
      return 'rejected'
    default:
      return 'failure'
  }
}

function classOf(k: Kind, code: ErrorCode | undefined): RtmErrorClass {
  switch (k) {
    case 'argument':
    case 'userId':
      return RtmInvalidArgumentError
    case 'timeout':
      return RtmTimeoutError
    case 'often':
      return RtmInvokeTooOftenError
    case 'limit':
      return RtmLimitExceededError
    case 'token':
    case 'tokenExpired':
    case 'appId':
    case 'rejected':
      return RtmUnauthenticatedError
    case 'failure':
      return code === ErrorCode.UNAVAILABLE || code === ErrorCode.SHUTTING_DOWN || code === ErrorCode.CONNECTION_LOST ||
        code === ErrorCode.MEDIA_UNAVAILABLE
        ? RtmUnavailableError
        : RtmUnknownError
    default:
      return RtmInvalidStatusError
  }
}

/** A new SDK-shaped error of `k` for operation `op`. */
export function rtmError(op: Operation, k: Kind, message: string, plazaCode?: ErrorCode): RtmError {
  const table: Table = RtmErrorCode[op]
  const Cls = classOf(k, plazaCode)
  const err = new Cls(message, table[k] ?? table.failure)
  if (plazaCode !== undefined) err.plazaCode = ErrorCode[plazaCode]
  return err
}

/** What a failed Plaza call becomes for operation `op` (errors already shaped pass through). */
export function toRtmError(op: Operation, err: unknown): RtmError {
  if (err instanceof RtmError) return err
  if (err instanceof PlazaError) {
    const out = rtmError(op, kindOf(err.code), err.message, err.code)
    out.originalError = err
    return out
  }
  const out = new RtmUnknownError(err instanceof Error ? err.message : String(err), RtmErrorCode[op].failure)
  out.originalError = err
  return out
}

/** Runs `fn`, rethrowing what it throws (or rejects with) as an SDK-shaped error of `op`. */
export async function shaped<T>(op: Operation, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw toRtmError(op, err)
  }
}
