import { parseArgs as parseNodeArgs } from 'node:util'
import { ENGINES, LINK_POLICIES, YWEBRTC_AUTH, defaultConfig, type EngineKind, type LinkPolicy, type MediaLimits, type NodeConfig, type YWebrtcAuth, type YWebrtcLimits } from './config.js'

export const HELP = `plaza-rendezvous — a Plaza rendezvous node (HTTP + WebSocket on one port)

Usage: plaza-rendezvous [options]     (--name value or --name=value)

Options (each also read from the environment variable shown):
  --port N                 port to listen on, 0 for any free one     PLAZA_PORT      (7420)
  --host ADDR              address to listen on                      PLAZA_HOST      (0.0.0.0)
  --data-dir DIR           embedded store directory                  PLAZA_DATA_DIR  (./.plaza-data)
  --app ID:SECRET          an app and its token secret; repeatable   PLAZA_APPS      (ID:SECRET,ID:SECRET)
                           Without any, a development app "plaza-dev" is made with a
                           secret kept in the data dir, and /dev/token is served.
  --dev-tokens             serve GET /dev/token?uid= for the first app PLAZA_DEV_TOKENS (off)
  --static-dir DIR         serve this directory at / (the demo)      PLAZA_STATIC_DIR
  --log-level LEVEL        fatal|error|warn|info|debug|trace         PLAZA_LOG_LEVEL (info)
  --unreachable-after MS   silence before a user shows UNREACHABLE   PLAZA_UNREACHABLE_AFTER_MS (6000)
  --offline-after MS       silence before a session ends (OFFLINE)   PLAZA_OFFLINE_AFTER_MS (30000)
  --ping-interval MS       how often clients ping                    PLAZA_PING_INTERVAL_MS (2000)
  --token-will-expire MS   TokenPrivilegeWillExpire lead time        PLAZA_TOKEN_WILL_EXPIRE_MS (30000)
  --offline-per-receiver N offline messages kept per receiver        PLAZA_OFFLINE_PER_RECEIVER (200)
  --offline-retention-ms MS how long offline messages are kept       PLAZA_OFFLINE_RETENTION_MS (604800000)
  --offline-quota-sender N/BYTES  offline messages one sender may have stored
                           for all its receivers together             PLAZA_OFFLINE_QUOTA_SENDER (5000/33554432)
  --offline-quota-app N/BYTES    ...one app in all                   PLAZA_OFFLINE_QUOTA_APP (1000000/4294967296)
  --doc-quota-app N        channels with attributes one app may have stored PLAZA_DOC_QUOTA_APP (100000)
  --channel-retention-ms MS keep a channel's attributes this long after
                           its last member left                      PLAZA_CHANNEL_RETENTION_MS (604800000)
  --invitation-offline-ms MS   callee still offline: PEER_OFFLINE    PLAZA_INVITATION_OFFLINE_MS (30000)
  --invitation-no-response-ms MS no acknowledgement: PEER_NO_RESPONSE PLAZA_INVITATION_NO_RESPONSE_MS (30000)
  --invitation-expire-ms MS    received, unanswered: INVITATION_EXPIRE PLAZA_INVITATION_EXPIRE_MS (60000)
  --login-timeout-ms MS    a socket must log in within this time    PLAZA_LOGIN_TIMEOUT_MS (5000)
  --max-connections N      open WebSockets in all (503 past it)     PLAZA_MAX_CONNECTIONS (10000)
  --max-connections-per-address N  ...from one address              PLAZA_MAX_CONNECTIONS_PER_ADDRESS (1024)
  --handshakes-per-address N/MS  WebSocket handshakes per address (429 past it)
                                                                   PLAZA_HANDSHAKES_PER_ADDRESS (300/10000)
  --trust-proxy            client address from X-Forwarded-For (behind a proxy) PLAZA_TRUST_PROXY (off)
  --max-socket-buffer BYTES unsent output per socket before it is closed
                           as a slow reader (4007)                  PLAZA_MAX_SOCKET_BUFFER (16777216)
  --link-policy [APP=]POLICY  who may open direct links: always, contacts
                           (a shared channel, or messages both ways), relay-only;
                           repeatable per app                       PLAZA_LINK_POLICY ([APP=]POLICY,...) (contacts)
  --rest-rate-limit N/MS   REST requests per app (429 past it)      PLAZA_REST_RATE_LIMIT (200/1000)
  --metrics-token TOKEN    GET /metrics wants this bearer token      PLAZA_METRICS_TOKEN (none: open)
  --rate-limit NAME=N/MS   a per-session rate limit; repeatable     PLAZA_RATE_LIMITS (NAME=N/MS,...)
                           names: messages (1500/3000), presenceQueries (100/5000),
                           signaling (600/3000), session (20/5000), attributeWrites (100/5000),
                           attributeReads (400/5000), joins (50/3000), sameChannelJoins (2/5000),
                           memberCounts (1/1000), channelRelay (12000/3000), invitations (30/5000),
                           fanoutBytes (16777216/3000: bytes the node sends on a session's
                           behalf: updates times members, member lists, attribute answers),
                           overlayCandidates (20/5000: introductions in large channels)
  --engine local|redis     where shared state lives: this process and
                           its embedded store, or a Redis many nodes share PLAZA_ENGINE (local)
  --redis-url URL          the Redis of the redis engine            PLAZA_REDIS_URL (redis://127.0.0.1:6379)
  --redis-prefix PREFIX    prefix of every Redis key and channel    PLAZA_REDIS_PREFIX (plaza:)
  --node-id NAME           this node's name in the deployment; each start
                           adds a suffix (a restarted node is a new one) PLAZA_NODE_ID (host and pid)
  --redis-require-aof      refuse to start unless Redis fsyncs every write
                           (appendonly yes, appendfsync always); else a warning PLAZA_REDIS_REQUIRE_AOF (off)
  --media-dir DIR          the media store (files and images)       PLAZA_MEDIA_DIR (<data-dir>/media)
                           Nodes of one deployment share it: the same (network) filesystem.
  --media-max-file-bytes [APP=]BYTES  the largest file; repeatable per app PLAZA_MEDIA_MAX_FILE_BYTES (104857600)
  --media-retention-ms [APP=]MS  how long a file is kept; per app  PLAZA_MEDIA_RETENTION_MS (604800000)
  --media-quota-app [APP=]BYTES  media one app may store in all; per app PLAZA_MEDIA_QUOTA_APP (10737418240)
  --media-uploads USER/APP uploads under way at once per user and per app PLAZA_MEDIA_UPLOADS (2/32)
  --media-idle-timeout-ms MS  an upload or download with no bytes moving ends PLAZA_MEDIA_IDLE_TIMEOUT_MS (30000)
  --ywebrtc-limit NAME=N   a limit of the y-webrtc endpoint (/y-webrtc); repeatable PLAZA_YWEBRTC_LIMITS (NAME=N,...)
                           names: topicsPerSocket (100), subscribersPerTopic (1000),
                           frameBytes (65536), framesPerSecond (200), topicBytes (512),
                           pingIntervalMs (30000)
  --ywebrtc-auth [APP=]POLICY  y-webrtc clients need a Plaza token (?app=ID&token=T):
                           off, optional (a given one must be valid), required;
                           repeatable per app                       PLAZA_YWEBRTC_AUTH ([APP=]POLICY,...) (optional)
  --help, -h               show this text
`

type MediaLimitKey = 'media:maxFileBytes' | 'media:retentionMs' | 'media:quotaBytes'
type OptionKey = keyof NodeConfig | 'app' | 'rateLimit' | 'mediaUploads' | MediaLimitKey | 'ywebrtcLimit'

const RATE = /^(\d+)\/(\d+)$/

const FLAGS: Record<string, OptionKey> = {
  '--port': 'port',
  '--host': 'host',
  '--data-dir': 'dataDir',
  '--app': 'app',
  '--static-dir': 'staticDir',
  '--log-level': 'logLevel',
  '--unreachable-after': 'unreachableAfterMs',
  '--offline-after': 'offlineAfterMs',
  '--ping-interval': 'pingIntervalMs',
  '--token-will-expire': 'tokenWillExpireMs',
  '--offline-per-receiver': 'offlinePerReceiver',
  '--offline-retention-ms': 'offlineRetentionMs',
  '--offline-quota-sender': 'offlineQuotaPerSender',
  '--offline-quota-app': 'offlineQuotaPerApp',
  '--doc-quota-app': 'docQuotaPerApp',
  '--channel-retention-ms': 'channelRetentionMs',
  '--invitation-offline-ms': 'invitationOfflineMs',
  '--invitation-no-response-ms': 'invitationNoResponseMs',
  '--invitation-expire-ms': 'invitationExpireMs',
  '--rate-limit': 'rateLimit',
  '--login-timeout-ms': 'loginTimeoutMs',
  '--max-connections': 'maxConnections',
  '--max-connections-per-address': 'maxConnectionsPerAddress',
  '--handshakes-per-address': 'handshakesPerAddress',
  '--max-socket-buffer': 'maxSocketBufferBytes',
  '--rest-rate-limit': 'restRateLimit',
  '--link-policy': 'linkPolicy',
  '--metrics-token': 'metricsToken',
  '--engine': 'engine',
  '--redis-url': 'redisUrl',
  '--redis-prefix': 'redisPrefix',
  '--node-id': 'nodeId',
  '--media-dir': 'mediaDir',
  '--media-max-file-bytes': 'media:maxFileBytes',
  '--media-retention-ms': 'media:retentionMs',
  '--media-quota-app': 'media:quotaBytes',
  '--media-uploads': 'mediaUploads',
  '--media-idle-timeout-ms': 'mediaIdleTimeoutMs',
  '--ywebrtc-limit': 'ywebrtcLimit',
  '--ywebrtc-auth': 'ywebrtcAuth',
}

const ENV: Record<string, OptionKey> = {
  PLAZA_PORT: 'port',
  PLAZA_HOST: 'host',
  PLAZA_DATA_DIR: 'dataDir',
  PLAZA_APPS: 'app',
  PLAZA_STATIC_DIR: 'staticDir',
  PLAZA_LOG_LEVEL: 'logLevel',
  PLAZA_UNREACHABLE_AFTER_MS: 'unreachableAfterMs',
  PLAZA_OFFLINE_AFTER_MS: 'offlineAfterMs',
  PLAZA_PING_INTERVAL_MS: 'pingIntervalMs',
  PLAZA_TOKEN_WILL_EXPIRE_MS: 'tokenWillExpireMs',
  PLAZA_OFFLINE_PER_RECEIVER: 'offlinePerReceiver',
  PLAZA_OFFLINE_RETENTION_MS: 'offlineRetentionMs',
  PLAZA_OFFLINE_QUOTA_SENDER: 'offlineQuotaPerSender',
  PLAZA_OFFLINE_QUOTA_APP: 'offlineQuotaPerApp',
  PLAZA_DOC_QUOTA_APP: 'docQuotaPerApp',
  PLAZA_CHANNEL_RETENTION_MS: 'channelRetentionMs',
  PLAZA_INVITATION_OFFLINE_MS: 'invitationOfflineMs',
  PLAZA_INVITATION_NO_RESPONSE_MS: 'invitationNoResponseMs',
  PLAZA_INVITATION_EXPIRE_MS: 'invitationExpireMs',
  PLAZA_RATE_LIMITS: 'rateLimit',
  PLAZA_LOGIN_TIMEOUT_MS: 'loginTimeoutMs',
  PLAZA_MAX_CONNECTIONS: 'maxConnections',
  PLAZA_MAX_CONNECTIONS_PER_ADDRESS: 'maxConnectionsPerAddress',
  PLAZA_HANDSHAKES_PER_ADDRESS: 'handshakesPerAddress',
  PLAZA_MAX_SOCKET_BUFFER: 'maxSocketBufferBytes',
  PLAZA_REST_RATE_LIMIT: 'restRateLimit',
  PLAZA_LINK_POLICY: 'linkPolicy',
  PLAZA_METRICS_TOKEN: 'metricsToken',
  PLAZA_ENGINE: 'engine',
  PLAZA_REDIS_URL: 'redisUrl',
  PLAZA_REDIS_PREFIX: 'redisPrefix',
  PLAZA_NODE_ID: 'nodeId',
  PLAZA_MEDIA_DIR: 'mediaDir',
  PLAZA_MEDIA_MAX_FILE_BYTES: 'media:maxFileBytes',
  PLAZA_MEDIA_RETENTION_MS: 'media:retentionMs',
  PLAZA_MEDIA_QUOTA_APP: 'media:quotaBytes',
  PLAZA_MEDIA_UPLOADS: 'mediaUploads',
  PLAZA_MEDIA_IDLE_TIMEOUT_MS: 'mediaIdleTimeoutMs',
  PLAZA_YWEBRTC_LIMITS: 'ywebrtcLimit',
  PLAZA_YWEBRTC_AUTH: 'ywebrtcAuth',
}

/** Boolean options: a flag, or the variable set to 1 or true. */
const SWITCHES: Record<string, { env: string; key: 'devTokens' | 'trustProxy' | 'redisRequireAof' }> = {
  '--dev-tokens': { env: 'PLAZA_DEV_TOKENS', key: 'devTokens' },
  '--trust-proxy': { env: 'PLAZA_TRUST_PROXY', key: 'trustProxy' },
  '--redis-require-aof': { env: 'PLAZA_REDIS_REQUIRE_AOF', key: 'redisRequireAof' },
}

export class UsageError extends Error {}

const flagOf = (key: OptionKey) => Object.keys(FLAGS).find((flag) => FLAGS[flag] === key) ?? key

function setOption(cfg: NodeConfig, key: OptionKey, value: string): void {
  if (key === 'rateLimit') {
    for (const item of value.split(',').filter(Boolean)) {
      const m = /^(\w+)=(\d+)\/(\d+)$/.exec(item)
      const name = m?.[1] as keyof NodeConfig['rateLimits'] | undefined
      if (!m || !name || !(name in cfg.rateLimits) || Number(m[2]) < 1 || Number(m[3]) < 1) {
        throw new UsageError(`--rate-limit wants NAME=COUNT/WINDOW_MS with a known name, got "${item}"`)
      }
      cfg.rateLimits[name] = { count: Number(m[2]), windowMs: Number(m[3]) }
    }
    return
  }
  if (key === 'ywebrtcLimit') {
    for (const item of value.split(',').filter(Boolean)) {
      const m = /^(\w+)=(\d+)$/.exec(item)
      const name = m?.[1] as keyof YWebrtcLimits | undefined
      if (!m || !name || !(name in cfg.ywebrtcLimits) || !Number.isSafeInteger(Number(m[2])) || Number(m[2]) < 1) {
        throw new UsageError(`--ywebrtc-limit wants NAME=N (a positive integer) with a known name (${Object.keys(cfg.ywebrtcLimits).join(', ')}), got "${item}"`)
      }
      cfg.ywebrtcLimits[name] = Number(m[2])
    }
    return
  }
  if (key === 'ywebrtcAuth') {
    for (const item of value.split(',').filter(Boolean)) {
      const [app, policy] = item.includes('=') ? item.split('=', 2) : ['', item]
      if (!YWEBRTC_AUTH.includes(policy as YWebrtcAuth)) throw new UsageError(`--ywebrtc-auth wants [APP=]${YWEBRTC_AUTH.join('|')}, got "${item}"`)
      if (app) cfg.ywebrtcAuthPerApp[app] = policy as YWebrtcAuth
      else cfg.ywebrtcAuth = policy as YWebrtcAuth
    }
    return
  }
  if (key === 'app') {
    for (const pair of value.split(',').filter(Boolean)) {
      const i = pair.indexOf(':')
      if (i <= 0 || i === pair.length - 1) throw new UsageError(`--app wants ID:SECRET, got "${pair}"`)
      cfg.apps[pair.slice(0, i)] = pair.slice(i + 1)
    }
    return
  }
  if (key === 'linkPolicy') {
    for (const item of value.split(',').filter(Boolean)) {
      const [app, policy] = item.includes('=') ? item.split('=', 2) : ['', item]
      if (!LINK_POLICIES.includes(policy as LinkPolicy)) throw new UsageError(`--link-policy wants [APP=]${LINK_POLICIES.join('|')}, got "${item}"`)
      if (app) cfg.linkPolicies[app] = policy as LinkPolicy
      else cfg.linkPolicy = policy as LinkPolicy
    }
    return
  }
  if (key === 'media:maxFileBytes' || key === 'media:retentionMs' || key === 'media:quotaBytes') {
    const field = key.slice('media:'.length) as keyof MediaLimits
    for (const item of value.split(',').filter(Boolean)) {
      const [app, n] = item.includes('=') ? item.split('=', 2) : ['', item]
      if (!/^\d+$/.test(n) || !Number.isSafeInteger(Number(n)) || Number(n) < 1) throw new UsageError(`${flagOf(key)} wants [APP=]N (a positive integer), got "${item}"`)
      if (app) (cfg.mediaLimitsPerApp[app] ??= {})[field] = Number(n)
      else cfg.mediaLimits[field] = Number(n)
    }
    return
  }
  if (key === 'mediaUploads') {
    const m = RATE.exec(value)
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError(`--media-uploads wants PER_USER/PER_APP, got "${value}"`)
    cfg.mediaUploadsPerUser = Number(m[1])
    cfg.mediaUploadsPerApp = Number(m[2])
    return
  }
  if (key === 'engine') {
    if (!ENGINES.includes(value as EngineKind)) throw new UsageError(`--engine wants ${ENGINES.join('|')}, got "${value}"`)
    cfg.engine = value as EngineKind
    return
  }
  if (key === 'handshakesPerAddress' || key === 'restRateLimit') {
    const m = RATE.exec(value)
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError(`${key} wants COUNT/WINDOW_MS, got "${value}"`)
    cfg[key] = { count: Number(m[1]), windowMs: Number(m[2]) }
    return
  }
  if (key === 'offlineQuotaPerSender' || key === 'offlineQuotaPerApp') {
    const m = RATE.exec(value)
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError(`${key} wants MESSAGES/BYTES, got "${value}"`)
    cfg[key] = { messages: Number(m[1]), bytes: Number(m[2]) }
    return
  }
  const current = cfg[key]
  if (typeof current === 'number') {
    const n = Number(value)
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`${key} wants a number, got "${value}"`)
    ;(cfg as unknown as Record<string, number>)[key] = n
  } else if (typeof current === 'string') {
    ;(cfg as unknown as Record<string, string>)[key] = value
  }
}

/** Reads options from the environment, then the command line (which wins): `--name value` or `--name=value`. */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = {}): NodeConfig & { help: boolean } {
  const cfg = { ...defaultConfig(), help: false }
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name]
    if (v !== undefined && v !== '') setOption(cfg, key, v)
  }
  for (const { env: name, key } of Object.values(SWITCHES)) if (env[name] === '1' || env[name] === 'true') cfg[key] = true
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: { type: 'boolean', short: 'h' } }
  for (const flag of Object.keys(FLAGS)) options[flag.slice(2)] = { type: 'string', multiple: true }
  for (const flag of Object.keys(SWITCHES)) options[flag.slice(2)] = { type: 'boolean' }
  let parsed
  try {
    parsed = parseNodeArgs({ args: argv, options, strict: true, allowPositionals: false, tokens: true })
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see --help)`)
  }
  // In the order given, so that a repeated option's last value wins.
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue
    const flag = `--${t.name}`
    if (t.name === 'help') cfg.help = true
    else if (SWITCHES[flag]) cfg[SWITCHES[flag].key] = true
    else {
      if (t.value === undefined) throw new UsageError(`${flag} wants a value`)
      setOption(cfg, FLAGS[flag], t.value)
    }
  }
  return cfg
}
