-- Takes one connection lease under a cap, atomically, fairly between nodes.
-- KEYS[1] the destination's lease set (member: lease id, score: expiry in Redis milliseconds)
-- KEYS[2] the destination's waiting nodes (member: node name, score: when its mark lapses, in Redis milliseconds)
-- ARGV[1] the cap, ARGV[2] the lease time in milliseconds, ARGV[3] the lease id, ARGV[4] the node's name,
-- ARGV[5] the leases the node holds, ARGV[6] its share of the cap, ARGV[7] how long a waiting mark lasts (ms)
-- Returns {1, count} when taken (count includes it), {0, count} when refused.
-- A node refused at the cap while below its share marks itself waiting; while another node waits, a node that
-- holds its share or more is refused room that frees up, so a node whose connections turn over first cannot keep
-- the whole cap. Time is the server's (TIME), never a node's clock, so node clocks may differ.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cap = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local node = ARGV[4]
local below_share = tonumber(ARGV[5]) < tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  -- A retry of an acquisition that was taken already (its reply was lost): renew it.
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {1, redis.call('ZCARD', KEYS[1])}
end
local count = redis.call('ZCARD', KEYS[1])
if count >= cap then
  if below_share then
    local mark = tonumber(ARGV[7])
    redis.call('ZADD', KEYS[2], now + mark, node)
    redis.call('PEXPIRE', KEYS[2], mark)
  end
  return {0, count}
end
if not below_share then
  local others = redis.call('ZCARD', KEYS[2])
  if redis.call('ZSCORE', KEYS[2], node) then
    others = others - 1
  end
  if others > 0 then
    return {0, count}
  end
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('ZREM', KEYS[2], node)
-- The whole set expires with its last lease: a set abandoned by every node vanishes.
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, count + 1}
