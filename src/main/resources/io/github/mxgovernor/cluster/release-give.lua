-- Gives back the release lease of one waiting mail, only if this holder holds it.
-- KEYS[1] the mail's lease; ARGV[1] the holder. Returns 1 when given back, 0 when another held it (or nobody).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
