-- Counts the live leases of one destination, without changing anything.
-- KEYS[1] the destination's lease set. Returns the count.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
