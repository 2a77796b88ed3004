import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * How often the event loop's delay is sampled for plaza_nodejs_eventloop_lag_*: prom-client's
 * default, 10 ms, wakes an idle node 100 times a second (a third of its idle CPU here).
 */
const EVENT_LOOP_SAMPLE_MS = 100

const RELAYED_KINDS = ['peer', 'channel', 'ack', 'media'] as const
export type RelayedKind = (typeof RELAYED_KINDS)[number]

/** The node's Prometheus metrics, on a registry of its own (several nodes may share a process in tests). */
export class NodeMetrics {
  readonly registry = new Registry()
  /**
   * Relayed frames by kind, counted in plain numbers (a labelled inc() hashes its labels, per
   * frame) and read at scrape time: count with countRelayed (the counter is reset to these at
   * every scrape, so an inc() on it would be lost).
   */
  private readonly relayedCounts: Record<RelayedKind, number> = { peer: 0, channel: 0, ack: 0, media: 0 }
  private readonly relayed: Counter<'kind'> = new Counter({
    name: 'plaza_messages_relayed_total',
    help: 'Peer frames relayed through the node, by kind (peer message, channel message, acknowledgement, media transfer frame)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
    collect: () => {
      this.relayed.reset()
      for (const kind of RELAYED_KINDS) this.relayed.inc({ kind }, this.relayedCounts[kind])
    },
  })

  countRelayed(kind: RelayedKind, n = 1): void {
    this.relayedCounts[kind] += n
  }
  readonly offlineStored = new Counter({ name: 'plaza_offline_messages_stored_total', help: 'Offline messages written durably', registers: [this.registry] })
  readonly offlineDelivered = new Counter({
    name: 'plaza_offline_messages_delivered_total',
    help: 'Offline messages delivered and acknowledged by their receiver',
    registers: [this.registry],
  })
  readonly docCompactions = new Counter({
    name: 'plaza_channel_document_compactions_total',
    help: 'Channel documents compacted into a new generation (their Yjs history outgrew the attributes)',
    registers: [this.registry],
  })
  readonly docWrites = new Counter({
    name: 'plaza_channel_document_writes_total',
    help: 'Channel documents written to (or deleted from) the store',
    registers: [this.registry],
  })
  readonly offlineDropped = new Counter({
    name: 'plaza_offline_messages_dropped_total',
    help: 'Stored offline messages dropped before delivery (per-receiver cap or retention); receivers are told',
    registers: [this.registry],
  })
  readonly offlineQuotaRefused = new Counter({
    name: 'plaza_offline_quota_refusals_total',
    help: 'Offline messages refused because the sender or its app used up its offline store quota',
    registers: [this.registry],
  })
  readonly moderation = new Counter({
    name: 'plaza_moderation_actions_total',
    help: 'Moderation actions (kick, ban, unban, remove, mute, unmute), by source (rest, client)',
    labelNames: ['action', 'source'] as const,
    registers: [this.registry],
  })
  readonly signaling = new Counter({ name: 'plaza_signaling_frames_total', help: 'WebRTC signaling frames relayed', registers: [this.registry] })
  readonly signalingRefused = new Counter({
    name: 'plaza_signaling_refused_total',
    help: "WebRTC signaling frames refused by the app's direct-link policy",
    registers: [this.registry],
  })
  readonly logins = new Counter({ name: 'plaza_logins_total', help: 'Logins, by result', labelNames: ['result'] as const, registers: [this.registry] })
  readonly errors = new Counter({ name: 'plaza_errors_total', help: 'Errors answered to clients, by code', labelNames: ['code'] as const, registers: [this.registry] })
  readonly connectionsRefused = new Counter({
    name: 'plaza_connections_refused_total',
    help: 'WebSocket handshakes refused, by reason (node-full, address-full, too-often)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })
  readonly slowReaders = new Counter({
    name: 'plaza_slow_readers_closed_total',
    help: 'Connections closed because their unsent output passed the cap (the client did not read)',
    registers: [this.registry],
  })
  readonly restRequests = new Counter({
    name: 'plaza_rest_requests_total',
    help: 'REST API requests, by status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  })

  readonly mediaUploads = new Counter({
    name: 'plaza_media_uploads_total',
    help: 'Media uploads answered with success, by result (stored: a new file; existing: stored already, its retention extended)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  })
  readonly mediaDownloads = new Counter({
    name: 'plaza_media_downloads_total',
    help: 'Media downloads started, by part (whole, range, manifest)',
    labelNames: ['part'] as const,
    registers: [this.registry],
  })
  readonly mediaServedBytes = new Counter({ name: 'plaza_media_served_bytes_total', help: 'Media bytes served by downloads', registers: [this.registry] })
  readonly mediaRefusals = new Counter({
    name: 'plaza_media_refusals_total',
    help: 'Media requests refused or cut off, by code (MEDIA_TOO_LARGE, MEDIA_INTEGRITY, QUOTA_EXCEEDED, TIMEOUT, ...)',
    labelNames: ['code'] as const,
    registers: [this.registry],
  })

  constructor(
    stats: () => { sessions: number; mediaBytes: number; channels: number; connections: number; subscriptions: number; documents: number; engineUp: boolean },
    processMetrics = true,
  ) {
    const gauge = (name: string, help: string, pick: (s: ReturnType<typeof stats>) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(pick(stats()))
        },
      })
    gauge('plaza_sessions', 'Logged-in sessions', (s) => s.sessions)
    gauge('plaza_connections', 'Open WebSocket connections', (s) => s.connections)
    gauge('plaza_channels', 'Channels with at least one member', (s) => s.channels)
    gauge('plaza_presence_subscriptions', 'Presence and attribute subscriptions', (s) => s.subscriptions)
    gauge('plaza_channel_documents', 'Channel documents held in memory', (s) => s.documents)
    gauge('plaza_media_bytes_stored', "Bytes in the media store (this node's count; with a shared store, as of its last sweep and its own uploads)", (s) => s.mediaBytes)
    gauge('plaza_engine_up', 'Whether the engine can do its work (1), or not: Redis unreachable (0)', (s) => (s.engineUp ? 1 : 0))
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'plaza_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  }
}
