-- Writes a destination's flow-control state for every node and announces it, unless the state in force wins.
-- KEYS[1] the destination's flow-state hash
-- ARGV[1] the channel to announce on, ARGV[2] the destination, ARGV[3] the version the publisher last saw ('0': none)
-- ARGV[4..15] kind, origin, since, until ('' when open-ended), cause, description, source, reply, maxConnections,
--             maxMessagesPerConnection, messagesPerHour, node
-- Returns {1, version} when written, {0, version, fields of the state in force} when refused. A version is the
-- server's time in microseconds, or one more than the last when that is later, so versions only grow even after the
-- hash expired.
-- Precedence (as each node's own state machine): an operator's state always goes; a state whose time is up, or
-- none, gives way; an operator's state in force is only replaced by another operator's; a stricter state
-- (SUSPENDED over BACKOFF over NORMAL) or the same kind lasting longer goes; a milder one only when the machine
-- itself leaves the state (probes ended a backoff, a suspension ended) on a node that had seen the state in force.
local rank = {NORMAL = 0, BACKOFF = 1, SUSPENDED = 2}
local time = redis.call('TIME')
local nowMicros = tonumber(time[1]) * 1000000 + tonumber(time[2])
local now = math.floor(nowMicros / 1000)
local kind, origin, untilText = ARGV[4], ARGV[5], ARGV[7]
if rank[kind] == nil then
  return redis.error_reply('unknown flow-control state ' .. tostring(kind))
end
local function endOf(text)
  -- A missing field comes as false from HMGET.
  if not text or text == '' then
    return math.huge
  end
  return tonumber(text)
end
local stored = redis.call('HMGET', KEYS[1], 'kind', 'origin', 'until', 'version')
local storedKind, storedOrigin, storedUntil = stored[1], stored[2], endOf(stored[3])
local version = tonumber(stored[4] or '0')
local accept = true
if origin ~= 'OPERATOR' and storedKind and storedKind ~= 'NORMAL' and storedUntil > now then
  if storedOrigin == 'OPERATOR' then
    accept = false
  elseif rank[kind] > rank[storedKind] then
    accept = true
  elseif rank[kind] == rank[storedKind] and endOf(untilText) > storedUntil then
    accept = true
  else
    -- Only the machine's own way out of a state (probes, the end of a suspension), from a node that knew it.
    local cause = ARGV[8]
    accept = (cause == 'PROBES' or cause == 'EXPIRED' or cause == 'HALF_OPEN') and tonumber(ARGV[3]) == version
  end
end
if not accept then
  return {0, version, redis.call('HGETALL', KEYS[1])}
end
version = math.max(version + 1, nowMicros)
local versionText = string.format('%.0f', version)
redis.call('HSET', KEYS[1], 'kind', kind, 'origin', origin, 'since', ARGV[6], 'until', untilText, 'cause', ARGV[8],
  'description', ARGV[9], 'source', ARGV[10], 'reply', ARGV[11], 'maxConnections', ARGV[12],
  'maxMessagesPerConnection', ARGV[13], 'messagesPerHour', ARGV[14], 'node', ARGV[15], 'version', versionText)
-- Kept an hour past its end (a week when open-ended), then forgotten.
local ttl = 3600000
if kind ~= 'NORMAL' then
  local ends = endOf(untilText)
  if ends == math.huge then
    ttl = 7 * 24 * 3600000
  elseif ends > now then
    ttl = ends - now + 3600000
  end
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PUBLISH', ARGV[1], versionText .. ' ' .. ARGV[2])
return {1, version}
