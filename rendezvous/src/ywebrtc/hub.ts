/**
 * Who is subscribed to which topic, with the endpoint's limits: no I/O. A subscriber keeps its
 * own set of topics (`topics`, made at its first subscription), so that leaving costs one pass
 * over its own topics and an idle socket holds no set at all.
 */
export interface Subscriber {
  topics: Set<string> | null
}

export type SubscribeResult = 'ok' | 'too-many-topics' | 'topic-full'

export class TopicHub<S extends Subscriber> {
  private readonly topics = new Map<string, Set<S>>()

  constructor(private readonly limits: { topicsPerSocket: number; subscribersPerTopic: number }) {}

  /** Topics with at least one subscriber. */
  get size(): number {
    return this.topics.size
  }

  subscribe(s: S, topic: string): SubscribeResult {
    const mine = s.topics
    if (mine?.has(topic)) return 'ok'
    if ((mine?.size ?? 0) >= this.limits.topicsPerSocket) return 'too-many-topics'
    let subs = this.topics.get(topic)
    if (subs && subs.size >= this.limits.subscribersPerTopic) return 'topic-full'
    if (!subs) this.topics.set(topic, (subs = new Set()))
    subs.add(s)
    ;(s.topics ??= new Set()).add(topic)
    return 'ok'
  }

  unsubscribe(s: S, topic: string): void {
    if (!s.topics?.delete(topic)) return
    this.forget(s, topic)
  }

  /** Takes the subscriber out of every topic (its socket closed). */
  drop(s: S): void {
    if (!s.topics) return
    for (const topic of s.topics) this.forget(s, topic)
    s.topics = null
  }

  subscribers(topic: string): ReadonlySet<S> | undefined {
    return this.topics.get(topic)
  }

  private forget(s: S, topic: string): void {
    const subs = this.topics.get(topic)
    if (!subs) return
    subs.delete(s)
    if (subs.size === 0) this.topics.delete(topic)
  }
}
