/** Recent messages, to answer GRAFT and PULL: bounded in count and age, oldest out first. */
export class MessageCache<M> {
  private readonly items = new Map<string, { m: M; at: number }>()

  constructor(
    private readonly size: number,
    private readonly ttlMs: number,
  ) {}

  get count(): number {
    return this.items.size
  }

  put(key: string, m: M, now: number): void {
    if (this.items.has(key)) return
    this.items.set(key, { m, at: now })
    if (this.items.size > this.size) this.items.delete(this.items.keys().next().value!)
  }

  /** Replaces a kept message (keeps its place and age); nothing if it is not kept. */
  replace(key: string, m: M): void {
    const it = this.items.get(key)
    if (it) it.m = m
  }

  get(key: string): M | undefined {
    return this.items.get(key)?.m
  }

  /** Drops what is older than the TTL (insertion order is time order). */
  expire(now: number): void {
    for (const [k, v] of this.items) {
      if (now - v.at < this.ttlMs) break
      this.items.delete(k)
    }
  }
}

/** Message ids seen recently, each forgotten after a TTL (insertion order is time order). */
export class SeenSet {
  private readonly items = new Map<string, number>()

  constructor(private readonly ttlMs: number) {}

  get count(): number {
    return this.items.size
  }

  has(key: string): boolean {
    return this.items.has(key)
  }

  add(key: string, now: number): void {
    if (!this.items.has(key)) this.items.set(key, now + this.ttlMs)
  }

  expire(now: number): void {
    for (const [k, t] of this.items) {
      if (t > now) break
      this.items.delete(k)
    }
  }
}
