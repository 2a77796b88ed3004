/** An opaque timer handle (a number in browsers, a Timeout object in Node). */
export type TimerHandle = unknown

/**
 * Time as the logic sees it: the wall clock and timers, injected so that a seeded simulation
 * can run the real client and node logic in virtual time. `systemClock` is the real one.
 */
export interface Clock {
  now(): number
  /** `unref`: in Node, the timer alone does not keep the process alive. */
  setTimeout(fn: () => void, ms: number, unref?: boolean): TimerHandle
  clearTimeout(handle: TimerHandle | null | undefined): void
  setInterval(fn: () => void, ms: number, unref?: boolean): TimerHandle
  clearInterval(handle: TimerHandle | null | undefined): void
}

type Unrefable = { unref?: () => void }

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms, unref) {
    const t = setTimeout(fn, ms)
    if (unref) (t as Unrefable).unref?.()
    return t
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  setInterval(fn, ms, unref) {
    const t = setInterval(fn, ms)
    if (unref) (t as Unrefable).unref?.()
    return t
  },
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
}

/** What runs a callback at the end of the current turn: a runtime's `defer`, else its clock. */
export interface TurnScheduler {
  clock: Clock
  /** Runs `fn` once what has already arrived is handled (setImmediate in Node). */
  defer?(fn: () => void): void
}

/** `rt.defer`, or a zero-delay timer of its clock (a simulated runtime has only the clock). */
export function deferOn(rt: TurnScheduler, fn: () => void): void {
  if (rt.defer) rt.defer(fn)
  else rt.clock.setTimeout(fn, 0)
}
