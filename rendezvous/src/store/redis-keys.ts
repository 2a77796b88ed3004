import { ErrorCode, PlazaError } from '@plaza/protocol'

/**
 * Ids in Redis keys and messages: "<app length>:<app>:<rest>", unambiguous whatever printable
 * characters the app id and the rest hold.
 */
export function joinId(appId: string, rest: string): string {
  return `${appId.length}:${appId}:${rest}`
}

export function splitId(id: string): { appId: string; rest: string } {
  const colon = id.indexOf(':')
  const n = Number(id.slice(0, colon))
  return { appId: id.slice(colon + 1, colon + 1 + n), rest: id.slice(colon + 2 + n) }
}

/** A Redis failure, as the node answers it: UNAVAILABLE (a PlazaError passes through). */
export function unavailable(err: unknown): never {
  if (err instanceof PlazaError) throw err
  const why = err instanceof Error && /timed out/i.test(err.message) ? 'does not answer' : 'is out of reach'
  throw new PlazaError(ErrorCode.UNAVAILABLE, `the node's Redis ${why}: try again`)
}
