import { isValidId } from '@plaza/protocol'

/** An id as agora-rtm-sdk 1.5.1 takes it (users and channels): Plaza's printable 1-64 bytes, and never "null". */
export function isAgoraId(id: unknown): id is string {
  return typeof id === 'string' && isValidId(id) && id !== 'null'
}
