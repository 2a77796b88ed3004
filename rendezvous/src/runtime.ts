import { randomBytes } from 'node:crypto'
import { systemClock, verifyToken, type Clock, type Grants } from '@plaza/protocol'

/**
 * What the node takes from its environment besides sockets and disks: time, randomness, and
 * the token check. The real one by default; a seeded simulation passes its own.
 */
export interface NodeRuntime {
  clock: Clock
  /** Uniform in [0, 1). */
  random(): number
  /** A session id (16 random bytes, base64url). */
  sessionId(): string
  /** Checks a login token; resolves with its expiry (ms since epoch) and grants, or rejects with a PlazaError. */
  verifyToken(token: string, secret: string, expect: { appId: string; uid: string }): Promise<VerifiedToken>
  /** Runs `fn` at the end of the current turn (setImmediate); a zero-delay timer of `clock` when absent. */
  defer?(fn: () => void): void
}


export interface VerifiedToken {
  expiresAt: number
  grants: Grants
}

export const systemNodeRuntime: NodeRuntime = {
  clock: systemClock,
  random: Math.random,
  sessionId: () => randomBytes(16).toString('base64url'),
  defer: (fn) => void setImmediate(fn),
  verifyToken: async (token, secret, expect) => {
    const claims = await verifyToken(token, secret, expect)
    return { expiresAt: claims.exp * 1000, grants: claims.grants }
  },
}
