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
