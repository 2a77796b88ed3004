/**
 * The Redis offline store's scripts. Per receiver R ("<app length>:<app>:<uid>"), under the
 * prefix P: om:R (id -> message bytes), omm:R (id -> "from\0stream\0seq\0bytes\0serverTs"),
 * oi:R (ids in order), oh:R ("from\0stream\0seq" -> id: what is held), ox:R ("from\0stream" ->
 * {"c": count, "r": seq ranges}: what was dropped), on:R (the last id); per app A:
 * ou:A (m, b: what the app holds), ousm:A / ousb:A (sender -> messages / bytes); and oexp
 * ("R\0id" by serverTs) for retention. Every change to a receiver's messages and to the usage
 * happens inside one script, so nodes that write for the same receiver never interleave.
 */

const HELPERS = `
local function split(s)
  local out = {}
  local start = 1
  while true do
    local i = string.find(s, '\\0', start, true)
    if not i then out[#out + 1] = string.sub(s, start); return out end
    out[#out + 1] = string.sub(s, start, i - 1)
    start = i + 1
  end
end

local function count(P, A, from, dm, db)
  redis.call('HINCRBY', P .. 'ou:' .. A, 'm', dm)
  redis.call('HINCRBY', P .. 'ou:' .. A, 'b', db)
  if redis.call('HINCRBY', P .. 'ousm:' .. A, from, dm) <= 0 then
    redis.call('HDEL', P .. 'ousm:' .. A, from)
    redis.call('HDEL', P .. 'ousb:' .. A, from)
  else
    redis.call('HINCRBY', P .. 'ousb:' .. A, from, db)
  end
end

local function removeMessage(P, R, A, id)
  local meta = redis.call('HGET', P .. 'omm:' .. R, id)
  if not meta then return nil end
  local f = split(meta)
  redis.call('HDEL', P .. 'om:' .. R, id)
  redis.call('HDEL', P .. 'omm:' .. R, id)
  redis.call('ZREM', P .. 'oi:' .. R, id)
  redis.call('ZREM', P .. 'oexp', R .. '\\0' .. id)
  redis.call('HDEL', P .. 'oh:' .. R, f[1] .. '\\0' .. f[2] .. '\\0' .. f[3])
  count(P, A, f[1], -1, -tonumber(f[4]))
  return { from = f[1], stream = f[2], seq = tonumber(f[3]) }
end

local function addRange(ranges, first, last, maxRanges)
  local all = {}
  for _, r in ipairs(ranges) do all[#all + 1] = { r[1], r[2] } end
  all[#all + 1] = { first, last }
  table.sort(all, function(a, b) return a[1] < b[1] end)
  local merged = {}
  for _, r in ipairs(all) do
    local last = merged[#merged]
    if last and r[1] <= last[2] + 1 then
      if r[2] > last[2] then last[2] = r[2] end
    else
      merged[#merged + 1] = r
    end
  end
  local out = {}
  for i = math.max(1, #merged - maxRanges + 1), #merged do out[#out + 1] = merged[i] end
  return out
end

local function recordDrops(P, R, dropped, maxDrops, maxRanges)
  local key = P .. 'ox:' .. R
  local groups, order = {}, {}
  for _, d in ipairs(dropped) do
    local k = d.from .. '\\0' .. d.stream
    if not groups[k] then groups[k] = {}; order[#order + 1] = k end
    local g = groups[k]
    g[#g + 1] = d
  end
  local known = redis.call('HLEN', key)
  for _, k in ipairs(order) do
    local list = groups[k]
    local field = k
    local exists = redis.call('HEXISTS', key, field) == 1
    if not exists and known >= maxDrops then
      field = list[1].from .. '\\0'
      exists = redis.call('HEXISTS', key, field) == 1
    end
    if exists or known < maxDrops then
      local rec = { c = 0, r = {} }
      if exists then rec = cjson.decode(redis.call('HGET', key, field)) end
      if field == k then
        for _, d in ipairs(list) do rec.r = addRange(rec.r, d.seq, d.seq, maxRanges) end
      end
      rec.c = rec.c + #list
      if not exists then known = known + 1 end
      redis.call('HSET', key, field, cjson.encode(rec))
    end
  end
end

-- Seqs a sender will never send (answered PEER_OFFLINE): into the drop record, not counted as dropped.
local function recordSkips(P, R, from, stream, skipped, maxDrops, maxRanges)
  if #skipped == 0 then return end
  local key = P .. 'ox:' .. R
  local field = from .. '\0' .. stream
  local cur = redis.call('HGET', key, field)
  if not cur and redis.call('HLEN', key) >= maxDrops then return end
  local rec = { c = 0, r = {} }
  if cur then rec = cjson.decode(cur) end
  if type(rec.r) ~= 'table' or rec.r[1] == nil then rec.r = {} end
  for _, r in ipairs(skipped) do rec.r = addRange(rec.r, r[1], r[2], maxRanges) end
  redis.call('HSET', key, field, cjson.encode(rec))
end

local function appOf(R)
  local n = tonumber(string.match(R, '^(%d+):'))
  return string.sub(R, 1, #tostring(n) + 1 + n)
end
`

/**
 * ARGV: P, R, A, from, stream, seq, serverTs, message, bytes, perReceiver, app max messages,
 * app max bytes, sender max messages, sender max bytes (-1: none), sender exempt (1/0),
 * max drop records, max ranges, skipped seqs ([[first, last]] JSON). Returns ok, held (kept
 * already or dropped already), app or sender.
 */
export const OFFLINE_PUT =
  HELPERS +
  `
local P, R, A = ARGV[1], ARGV[2], ARGV[3]
local from, stream, seq = ARGV[4], ARGV[5], tonumber(ARGV[6])
local bytes = tonumber(ARGV[9])
local held = from .. '\\0' .. stream .. '\\0' .. ARGV[6]
recordSkips(P, R, from, stream, cjson.decode(ARGV[18]), tonumber(ARGV[16]), tonumber(ARGV[17]))
if redis.call('HEXISTS', P .. 'oh:' .. R, held) == 1 then return 'held' end
local d = redis.call('HGET', P .. 'ox:' .. R, from .. '\\0' .. stream)
if d then
  for _, r in ipairs(cjson.decode(d).r) do
    if r[1] <= seq and seq <= r[2] then return 'held' end
  end
end
local appM = tonumber(redis.call('HGET', P .. 'ou:' .. A, 'm') or '0')
local appB = tonumber(redis.call('HGET', P .. 'ou:' .. A, 'b') or '0')
if (ARGV[11] ~= '-1' and appM + 1 > tonumber(ARGV[11])) or (ARGV[12] ~= '-1' and appB + bytes > tonumber(ARGV[12])) then return 'app' end
if ARGV[15] ~= '1' then
  local sm = tonumber(redis.call('HGET', P .. 'ousm:' .. A, from) or '0')
  local sb = tonumber(redis.call('HGET', P .. 'ousb:' .. A, from) or '0')
  if (ARGV[13] ~= '-1' and sm + 1 > tonumber(ARGV[13])) or (ARGV[14] ~= '-1' and sb + bytes > tonumber(ARGV[14])) then return 'sender' end
end
local id = redis.call('INCR', P .. 'on:' .. R)
redis.call('HSET', P .. 'om:' .. R, id, ARGV[8])
redis.call('HSET', P .. 'omm:' .. R, id, held .. '\\0' .. ARGV[9] .. '\\0' .. ARGV[7])
redis.call('ZADD', P .. 'oi:' .. R, id, id)
redis.call('HSET', P .. 'oh:' .. R, held, id)
redis.call('ZADD', P .. 'oexp', tonumber(ARGV[7]), R .. '\\0' .. id)
count(P, A, from, 1, bytes)
local excess = redis.call('ZCARD', P .. 'oi:' .. R) - tonumber(ARGV[10])
if excess > 0 then
  local dropped = {}
  for _, old in ipairs(redis.call('ZRANGE', P .. 'oi:' .. R, 0, excess - 1)) do
    local m = removeMessage(P, R, A, old)
    if m then dropped[#dropped + 1] = m end
  end
  recordDrops(P, R, dropped, tonumber(ARGV[16]), tonumber(ARGV[17]))
end
return 'ok'
`

/** ARGV: P, R, A, ids (JSON), drops told ([[field, count, ranges]] JSON). Removes acknowledged messages and the drop records told, unless changed since. */
export const OFFLINE_REMOVE =
  HELPERS +
  `
local P, R, A = ARGV[1], ARGV[2], ARGV[3]
for _, id in ipairs(cjson.decode(ARGV[4])) do removeMessage(P, R, A, string.format('%d', id)) end
for _, d in ipairs(cjson.decode(ARGV[5])) do
  local cur = redis.call('HGET', P .. 'ox:' .. R, d[1])
  if cur then
    local rec = cjson.decode(cur)
    local same = rec.c == d[2]
    local r = rec.r
    if type(r) ~= 'table' then r = {} end
    if same and #r ~= #d[3] then same = false end
    if same then
      for i, x in ipairs(r) do
        if x[1] ~= d[3][i][1] or x[2] ~= d[3][i][2] then same = false end
      end
    end
    if same then redis.call('HDEL', P .. 'ox:' .. R, d[1]) end
  end
end
if redis.call('EXISTS', P .. 'oi:' .. R) == 0 then redis.call('DEL', P .. 'on:' .. R) end
return 1
`

/** ARGV: P, cutoff, limit, max drop records, max ranges. Removes messages older than the cutoff, recorded as dropped; returns how many. */
export const OFFLINE_EXPIRE =
  HELPERS +
  `
local P = ARGV[1]
local items = redis.call('ZRANGEBYSCORE', P .. 'oexp', '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local byReceiver, order = {}, {}
for _, item in ipairs(items) do
  local i = string.find(item, '\\0', 1, true)
  local R, id = string.sub(item, 1, i - 1), string.sub(item, i + 1)
  if not byReceiver[R] then byReceiver[R] = {}; order[#order + 1] = R end
  local list = byReceiver[R]
  list[#list + 1] = id
end
for _, R in ipairs(order) do
  local A = appOf(R)
  local dropped = {}
  for _, id in ipairs(byReceiver[R]) do
    local m = removeMessage(P, R, A, id)
    if m then dropped[#dropped + 1] = m end
  end
  recordDrops(P, R, dropped, tonumber(ARGV[4]), tonumber(ARGV[5]))
  if redis.call('EXISTS', P .. 'oi:' .. R) == 0 then redis.call('DEL', P .. 'on:' .. R) end
end
return #items
`
