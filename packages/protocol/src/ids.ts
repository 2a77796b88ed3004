import { ErrorCode, PlazaError } from './errors.js'
import { MAX_ID_BYTES } from './limits.js'

// Printable ASCII, 1–64 bytes, not blank. (ASCII keeps ids identical in every store and log.)
const ID_PATTERN = /^[\x20-\x7e]{1,64}$/

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= MAX_ID_BYTES && ID_PATTERN.test(id) && id.trim().length > 0
}

export function assertUserId(id: unknown): asserts id is string {
  if (!isValidId(id)) throw new PlazaError(ErrorCode.INVALID_USER_ID, `invalid user id: ${JSON.stringify(id)}`)
}

export function assertChannelId(id: unknown): asserts id is string {
  if (!isValidId(id)) throw new PlazaError(ErrorCode.INVALID_CHANNEL_ID, `invalid channel id: ${JSON.stringify(id)}`)
}
