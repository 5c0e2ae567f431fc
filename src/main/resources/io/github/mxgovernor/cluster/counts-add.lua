-- Adds one node's attempts to a destination's shared sliding windows and returns the windows' totals.
-- KEYS[1] the destination's counts hash (fields: <counter>|<slice>|e and <counter>|<slice>|f)
-- ARGV[1] the number of counters n, then per counter: name, slice length in ms, events to add, failures to add
-- Each window is ten slices; slices older than that are dropped.
-- Returns per counter {events, failures} within its window (the current slice and the nine before it).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local slices = 10
local n = tonumber(ARGV[1])
local result = {}
local longest = 0
for i = 0, n - 1 do
  local name = ARGV[2 + i * 4]
  local sliceMillis = tonumber(ARGV[3 + i * 4])
  local events = tonumber(ARGV[4 + i * 4])
  local failures = tonumber(ARGV[5 + i * 4])
  local current = math.floor(now / sliceMillis)
  if events > 0 then
    redis.call('HINCRBY', KEYS[1], name .. '|' .. current .. '|e', events)
  end
  if failures > 0 then
    redis.call('HINCRBY', KEYS[1], name .. '|' .. current .. '|f', failures)
  end
  local totalEvents, totalFailures = 0, 0
  for slice = current - slices + 1, current do
    local values = redis.call('HMGET', KEYS[1], name .. '|' .. slice .. '|e', name .. '|' .. slice .. '|f')
    totalEvents = totalEvents + tonumber(values[1] or '0')
    totalFailures = totalFailures + tonumber(values[2] or '0')
  end
  result[i + 1] = {totalEvents, totalFailures}
  if sliceMillis * slices > longest then
    longest = sliceMillis * slices
  end
  -- Drop this counter's slices that left the window.
  local prefix = name .. '|'
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(field, 1, #prefix) == prefix then
      local slice = tonumber(string.match(string.sub(field, #prefix + 1), '^(%-?%d+)|'))
      if slice and slice <= current - slices then
        redis.call('HDEL', KEYS[1], field)
      end
    end
  end
end
if longest > 0 then
  redis.call('PEXPIRE', KEYS[1], longest * 2)
end
return result
