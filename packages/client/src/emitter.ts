/** A small typed event emitter that works the same in browsers and Node. */
export type EventMap = Record<string, unknown[]>
type Listener<A extends unknown[]> = (...args: A) => void

export class Emitter<E extends EventMap> {
  private listeners = new Map<keyof E, Set<Listener<never>>>()

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    let set = this.listeners.get(event)
    if (!set) this.listeners.set(event, (set = new Set()))
    set.add(fn as Listener<never>)
    return this
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    this.listeners.get(event)?.delete(fn as Listener<never>)
    return this
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const wrap = (...args: E[K]) => {
      this.off(event, wrap)
      fn(...args)
    }
    return this.on(event, wrap)
  }

  removeAllListeners(event?: keyof E): this {
    if (event === undefined) this.listeners.clear()
    else this.listeners.delete(event)
    return this
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event)
    if (!set || set.size === 0) return
    if (set.size === 1) {
      // The common case (one listener, e.g. the client's own on a hot path): no copy of the set.
      // Taken before the call, like the copy: a listener it adds now is not called for this event.
      const fn = set.values().next().value as Listener<E[K]>
      try {
        fn(...args)
      } catch (err) {
        setTimeout(() => {
          throw err
        })
      }
      return
    }
    for (const fn of [...set]) {
      try {
        ;(fn as Listener<E[K]>)(...args)
      } catch (err) {
        // A throwing app listener must not break the SDK's own bookkeeping.
        setTimeout(() => {
          throw err
        })
      }
    }
  }
}
