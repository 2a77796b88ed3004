/**
 * The Redis engine's scripts: each runs atomically in Redis, so that a session's record, its
 * node's index and the command to an older session change together. ARGV[1] is always the key
 * prefix. A message to a node (PUBLISH on <prefix>to:<node>) is a header line, then bytes:
 * "F <sid> <sid>...\n<frame>" (a frame for those sessions) or "C <sid>\n<json command>".
 */

/** KEYS: session hash, this node's session index. ARGV: prefix, sid, node, address, entry, end command JSON, expiry ms. Returns the replaced record or nil. */
export const REGISTER = `
local old = redis.call('HMGET', KEYS[1], 'sid', 'node', 'presence', 'addr', 'entry')
if old[1] == ARGV[2] then return nil end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'sid', ARGV[2], 'node', ARGV[3], 'presence', 'ONLINE', 'addr', ARGV[4], 'entry', ARGV[5], 'attrs', '[]')
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
if not old[1] then return nil end
redis.call('SREM', ARGV[1] .. 'ns:' .. old[2], old[5])
redis.call('DEL', ARGV[1] .. 'sent:' .. old[1])
redis.call('PUBLISH', ARGV[1] .. 'to:' .. old[2], 'C ' .. old[1] .. '\\n' .. ARGV[6])
return {old[1], old[2], old[3], old[4]}
`

/** KEYS: session hash. ARGV: prefix, sid. Returns 1 when the uid is left with no session. */
export const UNREGISTER = `
local cur = redis.call('HMGET', KEYS[1], 'sid', 'node', 'entry')
if cur[1] == ARGV[2] then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', ARGV[1] .. 'ns:' .. cur[2], cur[3])
end
redis.call('DEL', ARGV[1] .. 'sent:' .. ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
return 1
`

/** KEYS: session hash. ARGV: prefix, sid, field, value. Sets a field of the uid's record if the session is still its. */
export const SET_FIELD = `
if redis.call('HGET', KEYS[1], 'sid') == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[3], ARGV[4]) end
return 1
`

/**
 * KEYS: session hash. ARGV: prefix, frame. 1 if the uid has a session: a session whose node just
 * died counts (like a session whose socket dropped, it lives until it comes back elsewhere or the
 * offline window ends it); what was sent to it is sent again by its sender, whose ACK never came.
 */
export const DELIVER = `
local cur = redis.call('HMGET', KEYS[1], 'sid', 'node')
if not cur[1] then return 0 end
redis.call('PUBLISH', ARGV[1] .. 'to:' .. cur[2], 'F ' .. cur[1] .. '\\n' .. ARGV[2])
return 1
`

/**
 * KEYS: session hash. ARGV: prefix, frame. DELIVER for a connected session only: 1 when handed
 * over, 2 when the uid's session is away (its connection dropped, it is UNREACHABLE, or its
 * node's heartbeat stopped), 0 when it has none.
 */
export const DELIVER_IF_CONNECTED = `
local cur = redis.call('HMGET', KEYS[1], 'sid', 'node', 'presence', 'away')
if not cur[1] then return 0 end
if cur[3] ~= 'ONLINE' or cur[4] == '1' or redis.call('EXISTS', ARGV[1] .. 'live:' .. cur[2]) == 0 then return 2 end
redis.call('PUBLISH', ARGV[1] .. 'to:' .. cur[2], 'F ' .. cur[1] .. '\\n' .. ARGV[2])
return 1
`

/** KEYS: session hash. ARGV: prefix, command JSON. 1 if the uid has a session (see DELIVER). */
export const COMMAND = `
local cur = redis.call('HMGET', KEYS[1], 'sid', 'node')
if not cur[1] then return 0 end
redis.call('PUBLISH', ARGV[1] .. 'to:' .. cur[2], 'C ' .. cur[1] .. '\\n' .. ARGV[2])
return 1
`

/** KEYS: sender's session hash. ARGV: prefix, to, max kept, expiry ms. Notes a peer message of the current session. */
export const NOTE_SENT = `
local sid = redis.call('HGET', KEYS[1], 'sid')
if not sid then return 0 end
local key = ARGV[1] .. 'sent:' .. sid
redis.call('ZADD', key, redis.call('INCR', ARGV[1] .. 'clock'), ARGV[2])
redis.call('ZREMRANGEBYRANK', key, 0, -1 - tonumber(ARGV[3]))
redis.call('PEXPIRE', key, ARGV[4])
return 1
`

/** KEYS: a's and b's session hashes. ARGV: prefix, a, b. */
export const ARE_CONTACTS = `
local sa = redis.call('HGET', KEYS[1], 'sid')
local sb = redis.call('HGET', KEYS[2], 'sid')
if not sa or not sb then return 0 end
if redis.call('ZSCORE', ARGV[1] .. 'sent:' .. sa, ARGV[3]) and redis.call('ZSCORE', ARGV[1] .. 'sent:' .. sb, ARGV[2]) then return 1 end
return 0
`

/**
 * Members outside a channel's overlay: KEYS[3] holds their count (gone at 0), and the prefix's
 * 'outside-version' grows with every change of any channel's count (at least to Redis's clock in
 * µs, so it never goes back, even after a restart that lost it), so the newest count wins.
 */
const COUNT_OUTSIDE = `
local function countOutside(key, prefix, delta)
  if delta == 0 then return end
  local n = redis.call('INCRBY', key, delta)
  if n <= 0 then redis.call('DEL', key) end
  -- From Redis's clock (µs): a version never goes back, even if the counter was lost.
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local v = tonumber(redis.call('GET', prefix .. 'outside-version') or '0') + 1
  redis.call('SET', prefix .. 'outside-version', string.format('%.0f', math.max(v, now)))
end
local function isOutside(json)
  return json and cjson.decode(json).outside == true and 1 or 0
end
`

/** KEYS: channel hash, the session's channel set, the channel's outside count. ARGV: prefix, uid, member JSON, expiry ms. Returns the count after. */
export const JOIN = `${COUNT_OUTSIDE}
local before = isOutside(redis.call('HGET', KEYS[1], ARGV[2]))
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
countOutside(KEYS[3], ARGV[1], isOutside(ARGV[3]) - before)
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return redis.call('HLEN', KEYS[1])
`

/** KEYS: channel hash, the session's channel set, the channel's outside count. ARGV: prefix, uid, sid. Returns the count after. */
export const LEAVE = `${COUNT_OUTSIDE}
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if cur and cjson.decode(cur).sessionId == ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[2])
  countOutside(KEYS[3], ARGV[1], -isOutside(cur))
end
redis.call('SREM', KEYS[2], KEYS[1])
return redis.call('HLEN', KEYS[1])
`

/** KEYS: channel hash. ARGV: prefix, frame, except uid, audience ('all', 'outside', 'overlay'). One message per node holding members. */
export const SEND_TO_CHANNEL = `
local all = redis.call('HGETALL', KEYS[1])
local byNode = {}
for i = 1, #all, 2 do
  local m = all[i] ~= ARGV[3] and cjson.decode(all[i + 1])
  if m and ARGV[4] ~= 'all' and (m.outside == true) ~= (ARGV[4] == 'outside') then m = nil end
  if m then
    local list = byNode[m.nodeId]
    if not list then list = {}; byNode[m.nodeId] = list end
    list[#list + 1] = m.sessionId
  end
end
for node, sids in pairs(byNode) do
  redis.call('PUBLISH', ARGV[1] .. 'to:' .. node, 'F ' .. table.concat(sids, ' ') .. '\\n' .. ARGV[2])
end
return 1
`
