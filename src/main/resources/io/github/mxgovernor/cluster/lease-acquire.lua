-- Takes one connection lease under a cap, atomically.
-- KEYS[1] the destination's lease set (member: lease id, score: expiry in Redis milliseconds)
-- ARGV[1] the cap, ARGV[2] the lease time in milliseconds, ARGV[3] the lease id
-- Returns {1, count} when taken (count includes it), {0, count} when the cap is reached.
-- Time is the server's (TIME), never a node's clock, so node clocks may differ.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cap = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  -- A retry of an acquisition that was taken already (its reply was lost): renew it.
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {1, redis.call('ZCARD', KEYS[1])}
end
local count = redis.call('ZCARD', KEYS[1])
if count >= cap then
  return {0, count}
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
-- The whole set expires with its last lease: a set abandoned by every node vanishes.
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, count + 1}
