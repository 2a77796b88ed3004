import { Counter, Gauge, type Registry } from 'prom-client'
import type { RefusalReason } from './protocol.js'

/** The y-webrtc endpoint's metrics, on the node's registry. */
export class YWebrtcMetrics {
  readonly publishes: Counter
  readonly deliveries: Counter
  readonly refused: Counter<'reason'>

  /** `flush` adds the counts kept apart from the counters (see YWebrtcEndpoint) before they are read. */
  constructor(registry: Registry, stats: () => { sockets: number; topics: number }, flush: () => void) {
    new Gauge({
      name: 'plaza_ywebrtc_sockets',
      help: 'Open sockets on the y-webrtc signaling endpoint (/y-webrtc)',
      registers: [registry],
      collect() {
        this.set(stats().sockets)
      },
    })
    new Gauge({
      name: 'plaza_ywebrtc_topics',
      help: 'y-webrtc topics (rooms) with a subscriber on this node',
      registers: [registry],
      collect() {
        this.set(stats().topics)
      },
    })
    this.publishes = new Counter({ name: 'plaza_ywebrtc_publishes_total', help: 'y-webrtc publish frames taken (from sockets of this node, and from other nodes)', registers: [registry], collect: flush })
    this.deliveries = new Counter({ name: 'plaza_ywebrtc_deliveries_total', help: 'y-webrtc publish frames sent to subscribers of this node', registers: [registry], collect: flush })
    this.refused = new Counter({
      name: 'plaza_ywebrtc_refused_total',
      help: 'y-webrtc frames or connections refused, by reason (malformed, unknown-type, invalid-topic, too-many-topics, address-full, topic-full, too-often, too-large, auth, slow-reader)',
      labelNames: ['reason'] as const,
      registers: [registry],
    })
  }

  refuse(reason: RefusalReason): void {
    this.refused.inc({ reason })
  }
}
