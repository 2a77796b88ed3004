/**
 * The SDK's EventEmitter surface (on, once, off, removeAllListeners, listeners, rawListeners,
 * listenerCount), Node-style: a listener added twice is called twice; a throwing listener does
 * not stop the others (its error is rethrown on a later tick).
 */
export type EventMap = Record<string, unknown[]>
type Fn = (...args: never[]) => unknown
interface Entry {
  fn: Fn
  /** The listener given to once(); `fn` is its wrapper. */
  listener: Fn
}

export class EventEmitter<E extends EventMap> {
  static defaultMaxListeners = 10
  private readonly events = new Map<keyof E, Entry[]>()

  on<K extends keyof E>(event: K, listener: (...args: E[K]) => unknown): this
  // The SDK's declarations type listeners through a conditional type, which TypeScript cannot
  // match against this class's tuples generically; this plain overload is what lets instances
  // assign to the SDK's classes (test/conformance.ts). Calls with a known event name take the first.
  on(event: string, listener: (...args: any[]) => any): this
  on(event: keyof E, listener: Fn): this {
    this.add(event, { fn: listener, listener })
    return this
  }

  once<K extends keyof E>(event: K, listener: (...args: E[K]) => unknown): this
  once(event: string, listener: (...args: any[]) => any): this
  once(event: keyof E, listener: Fn): this {
    const entry: Entry = {
      fn: ((...args: never[]) => {
        this.remove(event, entry)
        return listener(...args)
      }) as Fn,
      listener: listener as Fn,
    }
    this.add(event, entry)
    return this
  }

  off<K extends keyof E>(event: K, listener: (...args: never[]) => unknown): this {
    const list = this.events.get(event)
    if (!list) return this
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i].listener === listener || list[i].fn === listener) {
        this.remove(event, list[i])
        break
      }
    }
    return this
  }

  removeAllListeners<K extends keyof E>(event?: K): this {
    if (event === undefined) this.events.clear()
    else this.events.delete(event)
    return this
  }

  listeners<K extends keyof E>(event: K): Function[] {
    return (this.events.get(event) ?? []).map((e) => e.listener)
  }

  rawListeners<K extends keyof E>(event: K): Function[] {
    return (this.events.get(event) ?? []).map((e) => e.fn)
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.events.get(event)?.length ?? 0
  }

  /** @internal */
  _emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const list = this.events.get(event)
    if (!list) return
    for (const e of list.slice()) {
      try {
        ;(e.fn as (...a: E[K]) => unknown)(...args)
      } catch (err) {
        setTimeout(() => {
          throw err
        })
      }
    }
  }

  private add(event: keyof E, entry: Entry): void {
    const list = this.events.get(event)
    if (list) list.push(entry)
    else this.events.set(event, [entry])
  }

  private remove(event: keyof E, entry: Entry): void {
    const list = this.events.get(event)
    if (!list) return
    const i = list.indexOf(entry)
    if (i >= 0) list.splice(i, 1)
    if (list.length === 0) this.events.delete(event)
  }
}
