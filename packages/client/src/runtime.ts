import { systemClock, type Clock } from '@plaza/protocol'
import { randomId } from './random.js'
import type { OverlayKeyPair } from './channels/channel-overlay.js'

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
  /**
   * Runs `fn` once what has already arrived (this socket read, these data channel messages) is
   * handled: the end of the current turn. A zero-delay timer of `clock` when absent.
   */
  defer?(fn: () => void): void
  /**
   * Makes this client's channel overlay key pair (null: stay out of overlays). Ed25519 from
   * WebCrypto when absent; a simulation gives its own so that nothing waits on a real thread.
   */
  overlayKeys?(): OverlayKeyPair | null | Promise<OverlayKeyPair | null>
}

type Task = () => void

/** The end of the turn: setImmediate in Node; in browsers a message to ourselves (a timer would wait ≥ 1 ms). */
function systemDefer(): (fn: Task) => void {
  const g = globalThis as { setImmediate?: (fn: Task) => unknown; MessageChannel?: typeof MessageChannel }
  if (g.setImmediate) return (fn) => void g.setImmediate!(fn)
  if (!g.MessageChannel) return (fn) => void setTimeout(fn, 0)
  const tasks: Task[] = []
  const channel = new g.MessageChannel()
  channel.port1.onmessage = () => {
    for (const fn of tasks.splice(0)) fn()
  }
  return (fn) => {
    if (tasks.push(fn) === 1) channel.port2.postMessage(null)
  }
}

export const systemRuntime: Runtime = { clock: systemClock, random: Math.random, randomId, defer: systemDefer() }
