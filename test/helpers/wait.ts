/** Anything with `on`/`off` for a named event. */
export interface EventSource {
  on(event: string, fn: (...args: any[]) => void): unknown
  off(event: string, fn: (...args: any[]) => void): unknown
}

/** Resolves with the arguments of the first `event` that passes `test`; rejects after `timeoutMs`. */
export function waitForEvent<A extends unknown[] = unknown[]>(
  source: EventSource,
  event: string,
  test: (...args: A) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const fn = (...args: unknown[]) => {
      if (!test(...(args as A))) return
      clearTimeout(timer)
      source.off(event, fn)
      resolve(args as A)
    }
    const timer = setTimeout(() => {
      source.off(event, fn)
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${event}`))
    }, timeoutMs)
    source.on(event, fn)
  })
}

/** Polls `check` until it returns true; rejects after `timeoutMs`. For state with no event. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
