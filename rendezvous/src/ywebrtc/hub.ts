/**
 * Who is subscribed to which topic, with the endpoint's limits: no I/O. A subscriber keeps its
 * own set of topics (`topics`, made at its first subscription), so that leaving costs one pass
 * over its own topics and an idle socket holds no set at all.
 */
export interface Subscriber {
  topics: Set<string> | null
  /** The client's address: one address may hold only a share of a topic (see subscribersPerTopicPerAddress). */
  remote: string
}

export type SubscribeResult = 'ok' | 'too-many-topics' | 'topic-full' | 'address-full'

export interface HubLimits {
  topicsPerSocket: number
  subscribersPerTopic: number
  subscribersPerTopicPerAddress: number
}

interface Topic<S> {
  subs: Set<S>
  /** Subscribers per address. */
  perAddress: Map<string, number>
}

export class TopicHub<S extends Subscriber> {
  private readonly topics = new Map<string, Topic<S>>()

  constructor(private readonly limits: HubLimits) {}

  /** Topics with at least one subscriber. */
  get size(): number {
    return this.topics.size
  }

  subscribe(s: S, topic: string): SubscribeResult {
    const mine = s.topics
    if (mine?.has(topic)) return 'ok'
    if ((mine?.size ?? 0) >= this.limits.topicsPerSocket) return 'too-many-topics'
    let t = this.topics.get(topic)
    if (t && t.subs.size >= this.limits.subscribersPerTopic) return 'topic-full'
    // Without this, sockets from one address (no token needed under `optional`) could fill a topic and lock its room.
    const fromHere = t?.perAddress.get(s.remote) ?? 0
    if (fromHere >= this.limits.subscribersPerTopicPerAddress) return 'address-full'
    if (!t) this.topics.set(topic, (t = { subs: new Set(), perAddress: new Map() }))
    t.subs.add(s)
    t.perAddress.set(s.remote, fromHere + 1)
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
    return this.topics.get(topic)?.subs
  }

  private forget(s: S, topic: string): void {
    const t = this.topics.get(topic)
    if (!t || !t.subs.delete(s)) return
    const n = (t.perAddress.get(s.remote) ?? 1) - 1
    if (n > 0) t.perAddress.set(s.remote, n)
    else t.perAddress.delete(s.remote)
    if (t.subs.size === 0) this.topics.delete(topic)
  }
}
