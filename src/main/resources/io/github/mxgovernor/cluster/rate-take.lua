-- Takes up to N message tokens from a shared rate, GCRA style (generic cell rate algorithm).
-- KEYS[1] the rate's theoretical arrival time (TAT), in Redis microseconds
-- ARGV[1] the emission interval T in microseconds (one hour / messages per hour)
-- ARGV[2] the burst: how many tokens may be taken at once after a quiet spell
-- ARGV[3] N, the tokens wanted
-- Returns {granted, micros until the next token}: granted may be below N (what the rate allows now), or 0.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local granted = math.floor((now + tolerance - tat) / interval)
if granted > wanted then
  granted = wanted
end
if granted < 0 then
  granted = 0
end
if granted > 0 then
  tat = tat + granted * interval
  -- The key lives as long as it holds back anything: an idle rate forgets itself.
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
end
local wait = tat + interval - tolerance - now
if wait < 0 then
  wait = 0
end
return {granted, math.ceil(wait)}
