-- Forgets one counter of a destination's shared windows (after its trigger fired, or an operator's reset).
-- KEYS[1] the destination's counts hash; ARGV[1] the counter's name. Returns how many fields went.
local prefix = ARGV[1] .. '|'
local removed = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, #prefix) == prefix then
    removed = removed + redis.call('HDEL', KEYS[1], field)
  end
end
return removed
