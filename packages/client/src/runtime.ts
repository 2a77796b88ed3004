import { systemClock, type Clock } from '@plaza/protocol'
import { randomId } from './random.js'

/**
 * What the client takes from its environment besides sockets: time, timers and randomness.
 * The real one by default; a seeded simulation passes its own to run the client in virtual time.
 */
export interface Runtime {
  clock: Clock
  /** Uniform in [0, 1). */
  random(): number
  /** A short random id (streams, links, invitations). */
  randomId(): string
  /** The clock is simulated: real-time timers of libraries must not run. */
  virtualTime?: boolean
}

export const systemRuntime: Runtime = { clock: systemClock, random: Math.random, randomId }
