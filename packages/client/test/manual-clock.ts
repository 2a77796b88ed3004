import type { Clock } from '@plaza/protocol'

/** A clock whose timeouts fire only when a test says so: advance(ms) fires those due, fire() all pending. Intervals never fire. */
export function manualClock(start = 0) {
  let now = start
  let timers: Array<{ at: number; fn: () => void; live: boolean }> = []
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { at: now + ms, fn, live: true }
      timers.push(t)
      return t
    },
    clearTimeout: (h) => {
      if (h) (h as { live: boolean }).live = false
    },
    setInterval: () => ({}),
    clearInterval: () => undefined,
  }
  const run = (due: (t: { at: number }) => boolean) => {
    const go = timers.filter((t) => t.live && due(t))
    timers = timers.filter((t) => !go.includes(t))
    for (const t of go) t.fn()
  }
  return {
    clock,
    advance: (ms: number) => {
      now += ms
      run((t) => t.at <= now)
    },
    fire: () => run(() => true),
  }
}
