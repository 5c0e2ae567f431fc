-- Takes the release lease of one waiting mail: granted when nobody holds it, or when this holder does already (its
-- time starts again). The lease expires by itself, on Redis's clock, should its holder die.
-- KEYS[1] the mail's lease; ARGV[1] the holder; ARGV[2] the lease time in ms. Returns 1 granted, 0 held by another.
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
