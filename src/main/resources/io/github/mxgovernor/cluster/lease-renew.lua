-- Renews every lease one node holds on one destination, in one call, and registers again those the set lost
-- (expired during a pause, or gone with a restarted server): they stand for connections that are open.
-- KEYS[1] the destination's lease set; ARGV[1] the lease time in milliseconds, ARGV[2..] the node's lease ids
-- Returns {registered again, count}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expiry = now + tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local added = 0
for i = 2, #ARGV do
  added = added + redis.call('ZADD', KEYS[1], expiry, ARGV[i])
end
if #ARGV > 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return {added, redis.call('ZCARD', KEYS[1])}
