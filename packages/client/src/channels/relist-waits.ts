import type { Clock, TimerHandle } from '@plaza/protocol'

/**
 * Members a join again's list lacked (a restarted node rebuilds its list as members come back):
 * each is given `graceMs` to be listed again before it counts as gone (`expired`).
 */
export class RelistWaits {
  private readonly timers = new Map<string, TimerHandle>()

  constructor(
    private readonly clock: Clock,
    private readonly graceMs: number,
    private readonly expired: (uid: string) => void,
  ) {}

  wait(uid: string): void {
    if (this.timers.has(uid)) return
    const timer = this.clock.setTimeout(
      () => {
        this.timers.delete(uid)
        this.expired(uid)
      },
      this.graceMs,
      true,
    )
    this.timers.set(uid, timer)
  }

  /** Listed again, or gone for sure: no longer waited for. */
  done(uid: string): void {
    const timer = this.timers.get(uid)
    if (timer === undefined) return
    this.clock.clearTimeout(timer)
    this.timers.delete(uid)
  }

  clear(): void {
    for (const timer of this.timers.values()) this.clock.clearTimeout(timer)
    this.timers.clear()
  }
}
