import { DEFAULT_LIMITS, DEFAULT_RATE_LIMITS, type RateLimit } from '@plaza/protocol'
import type { SessionLimits } from './session.js'
import type { Quota } from './store/offline-quota.js'

/**
 * Who may open a direct WebRTC link to whom (a link shows each side the other's IP addresses
 * through ICE): `always` anyone logged in; `contacts` members of a shared channel, and users who
 * have both sent each other a message; `relay-only` nobody (everything goes through the node).
 */
/** What an app may keep in the node's media store (see media/). */
export interface MediaLimits {
  /** The largest file one upload may store. Default 100 MB (104 857 600 bytes). */
  maxFileBytes: number
  /** How long a file is kept after its upload (or its last re-upload, or an offline message that needs it). Default 7 days. */
  retentionMs: number
  /** Bytes of media one app may have stored in all. Default 10 GiB. */
  quotaBytes: number
}

export type LinkPolicy = 'always' | 'contacts' | 'relay-only'
export const LINK_POLICIES: readonly LinkPolicy[] = ['always', 'contacts', 'relay-only']

/** Everything a node can be told; every field has a default (see `defaultConfig`). */
export interface NodeConfig {
  /** TCP port for HTTP and WebSocket; 0 picks a free one. Default 7420. */
  port: number
  /** Address to listen on. Default 0.0.0.0. */
  host: string
  /** Directory of the embedded store. Default ./.plaza-data */
  dataDir: string
  /** appId -> HMAC secret. Tokens are verified against the secret of their app. */
  apps: Record<string, string>
  /**
   * Serve GET /dev/token?uid= minting tokens for the first app. Only for local development
   * (the demo uses it); `npm start` turns it on when no app secret was configured.
   */
  devTokens: boolean
  /** Directory served at / (the demo). Empty: none. */
  staticDir: string
  logLevel: string
  /** A session with no contact this long is UNREACHABLE to others. Default 6 s. */
  unreachableAfterMs: number
  /** ...and this long ends it (OFFLINE). Default 30 s. */
  offlineAfterMs: number
  pingIntervalMs: number
  /** TokenPrivilegeWillExpire is sent this long before expiry. Default 30 s. */
  tokenWillExpireMs: number
  /** A socket must log in within this time. Default 5 s. */
  loginTimeoutMs: number
  /** Open WebSocket connections in all; past it handshakes are answered 503. Default 10 000. */
  maxConnections: number
  /** ...from one address (behind a proxy, see `trustProxy`). Default 1024 (a school behind one NAT). */
  maxConnectionsPerAddress: number
  /** WebSocket handshakes one address may make; past it 429. Default 300 per 10 s. */
  handshakesPerAddress: RateLimit
  /** Take the client's address from the last X-Forwarded-For entry (the node runs behind a proxy). Default false. */
  trustProxy: boolean
  /**
   * A socket whose unsent output passes this many bytes (a client that does not read) is closed
   * with 4007 SLOW_READER; its session waits detached, as after any drop. Default 16 MiB, above the
   * largest burst the node sends at once (a full offline batch, ~6.6 MB).
   */
  maxSocketBufferBytes: number
  offlinePerReceiver: number
  offlineRetentionMs: number
  /** What one sender may hold in the offline store for all its receivers together. Default 5000 messages, 32 MiB. */
  offlineQuotaPerSender: Quota
  /** ...and one app in all (REST messages count here only). Default 1 000 000 messages, 4 GiB. */
  offlineQuotaPerApp: Quota
  presenceQueryIds: number
  presenceSubscribeIds: number
  /** A channel's document (attributes) is kept this long after its last member left. Default 7 days. */
  channelRetentionMs: number
  /** MemberCountUpdated at most this often (3× above 512 members). Default 1 s. */
  memberCountIntervalMs: number
  /** Invitation timeouts: callee still offline, no acknowledgement, no answer. Defaults 30 s, 30 s, 60 s. */
  invitationOfflineMs: number
  invitationNoResponseMs: number
  invitationExpireMs: number
  rateLimits: SessionLimits
  /** Frames (and bytes) kept for a session whose socket is gone, for its resume; past them it resynchronises. Defaults 4096, 8 MiB. */
  detachedQueueFrames: number
  detachedQueueBytes: number
  /**
   * A channel document is compacted into a new generation once its state exceeds twice what its
   * attributes need plus this many bytes. Default 4096.
   */
  docCompactSlackBytes: number
  /** Channel documents (channels with attributes) one app may have stored. Default 100 000. */
  docQuotaPerApp: number
  /** REST requests per app. Default 200 per second. */
  restRateLimit: RateLimit
  /** When set, GET /metrics wants `Authorization: Bearer <this>` (401 otherwise). Default: open. */
  metricsToken: string
  /** The direct-link policy of apps not named in `linkPolicies`. Default `contacts`. */
  linkPolicy: LinkPolicy
  /** appId -> its direct-link policy. */
  linkPolicies: Record<string, LinkPolicy>
  /** Collect the Node process metrics (CPU, memory, event loop) on /metrics. Default true. */
  processMetrics: boolean
  /** `local`: state in this process, stores in the embedded database (one node). `redis`: many nodes share one Redis. */
  engine: EngineKind
  /** The Redis of a `redis` engine. Default redis://127.0.0.1:6379 */
  redisUrl: string
  /** Prefix of every Redis key and channel (several deployments on one Redis). Default "plaza:". */
  redisPrefix: string
  /** This node's name in the deployment (logs, Redis keys); each start adds a random suffix (a restarted node is a new one). Default: host and pid. */
  nodeId: string
  /** Directory of the media store ('' for `<dataDir>/media`). Several nodes share one by pointing at the same (network) filesystem. */
  mediaDir: string
  /** Media limits of apps not named in `mediaLimitsPerApp`. */
  mediaLimits: MediaLimits
  /** appId -> the limits it sets apart from `mediaLimits`. */
  mediaLimitsPerApp: Record<string, Partial<MediaLimits>>
  /** Uploads under way at once, per user and per app (429 TOO_OFTEN past them). Defaults 2 and 32. */
  mediaUploadsPerUser: number
  mediaUploadsPerApp: number
  /** An upload or download with no bytes moving this long is ended (408 TIMEOUT). Default 30 s. */
  mediaIdleTimeoutMs: number
  /** Refuse to start when Redis does not fsync every write (appendonly yes, appendfsync always); else warn. Default false. */
  redisRequireAof: boolean
  // ---- y-webrtc signaling on /y-webrtc (see ywebrtc/) ----
  /** Limits of the y-webrtc signaling endpoint. */
  ywebrtcLimits: YWebrtcLimits
  /** Who may use the y-webrtc endpoint, for apps not named in `ywebrtcAuthPerApp`. Default `optional`. */
  ywebrtcAuth: YWebrtcAuth
  /** appId -> its y-webrtc authentication policy. */
  ywebrtcAuthPerApp: Record<string, YWebrtcAuth>
}

/**
 * Authentication on the y-webrtc endpoint, by a Plaza token in its URL (`?app=ID&token=T`):
 * `off` tokens are not looked at; `optional` a token given must be valid, none is fine;
 * `required` a valid token of the app is needed.
 */
export type YWebrtcAuth = 'off' | 'optional' | 'required'
export const YWEBRTC_AUTH: readonly YWebrtcAuth[] = ['off', 'optional', 'required']

/** The y-webrtc endpoint's limits (`--ywebrtc-limit NAME=VALUE`). */
export interface YWebrtcLimits {
  /** Topics (rooms) one socket may be subscribed to. Default 100. */
  topicsPerSocket: number
  /** Sockets subscribed to one topic (on this node). Default 1000. */
  subscribersPerTopic: number
  /** Of those, sockets from one address (so that one address cannot fill a topic and lock its room). Default 50. */
  subscribersPerTopicPerAddress: number
  /** The largest frame, in bytes (a bigger one closes the socket, 1009). Default 65 536. */
  frameBytes: number
  /** Frames one socket may send per second (past it: a TOO_OFTEN error frame, the frame dropped). Default 200. */
  framesPerSecond: number
  /** The longest topic name, in bytes. Default 512. */
  topicBytes: number
  /** WebSocket ping interval; a socket that has not answered the last ping is closed. Default 30 000 ms (y-webrtc's server's). */
  pingIntervalMs: number
}

export function defaultYWebrtcLimits(): YWebrtcLimits {
  return { topicsPerSocket: 100, subscribersPerTopic: 1000, subscribersPerTopicPerAddress: 50, frameBytes: 65_536, framesPerSecond: 200, topicBytes: 512, pingIntervalMs: 30_000 }
}

export type EngineKind = 'local' | 'redis'
export const ENGINES: readonly EngineKind[] = ['local', 'redis']

export function defaultConfig(): NodeConfig {
  return {
    port: 7420,
    host: '0.0.0.0',
    dataDir: '.plaza-data',
    apps: {},
    devTokens: false,
    staticDir: '',
    logLevel: 'info',
    unreachableAfterMs: DEFAULT_LIMITS.unreachableAfterMs,
    offlineAfterMs: DEFAULT_LIMITS.offlineAfterMs,
    pingIntervalMs: DEFAULT_LIMITS.pingIntervalMs,
    tokenWillExpireMs: DEFAULT_LIMITS.tokenWillExpireMs,
    loginTimeoutMs: 5_000,
    maxConnections: 10_000,
    maxConnectionsPerAddress: 1024,
    handshakesPerAddress: { count: 300, windowMs: 10_000 },
    trustProxy: false,
    maxSocketBufferBytes: 16 * 1024 * 1024,
    offlinePerReceiver: DEFAULT_LIMITS.offlineMessagesPerReceiver,
    offlineRetentionMs: DEFAULT_LIMITS.offlineRetentionMs,
    offlineQuotaPerSender: { messages: 5000, bytes: 32 * 1024 * 1024 },
    offlineQuotaPerApp: { messages: 1_000_000, bytes: 4 * 1024 ** 3 },
    presenceQueryIds: DEFAULT_LIMITS.presenceQueryIds,
    presenceSubscribeIds: DEFAULT_LIMITS.presenceSubscribeIds,
    channelRetentionMs: 7 * 24 * 3600 * 1000,
    memberCountIntervalMs: DEFAULT_LIMITS.memberCountIntervalMs,
    invitationOfflineMs: DEFAULT_LIMITS.invitationOfflineMs,
    invitationNoResponseMs: DEFAULT_LIMITS.invitationNoResponseMs,
    invitationExpireMs: DEFAULT_LIMITS.invitationExpireMs,
    rateLimits: structuredClone(DEFAULT_RATE_LIMITS) as SessionLimits,
    processMetrics: true,
    restRateLimit: { count: 200, windowMs: 1000 },
    linkPolicy: 'contacts',
    linkPolicies: {},
    metricsToken: '',
    docCompactSlackBytes: 4096,
    docQuotaPerApp: 100_000,
    detachedQueueFrames: 4096,
    detachedQueueBytes: 8 * 1024 * 1024,
    engine: 'local',
    redisUrl: 'redis://127.0.0.1:6379',
    redisPrefix: 'plaza:',
    nodeId: '',
    redisRequireAof: false,
    mediaDir: '',
    mediaLimits: { maxFileBytes: 100 * 1024 * 1024, retentionMs: 7 * 24 * 3600 * 1000, quotaBytes: 10 * 1024 ** 3 },
    mediaLimitsPerApp: {},
    mediaUploadsPerUser: 2,
    mediaUploadsPerApp: 32,
    mediaIdleTimeoutMs: 30_000,
    ywebrtcLimits: defaultYWebrtcLimits(),
    ywebrtcAuth: 'optional',
    ywebrtcAuthPerApp: {},
  }
}

/** The media limits of one app: its own where set, the node's otherwise. */
export function mediaLimitsOf(cfg: Pick<NodeConfig, 'mediaLimits' | 'mediaLimitsPerApp'>, appId: string): MediaLimits {
  return { ...cfg.mediaLimits, ...cfg.mediaLimitsPerApp[appId] }
}
