-- Forget reservations settled before the cutoff: no repeat of their redemption can come any more (the
-- pending choice that carries the redemption id is long gone). Stock counters and per-member counts stay.
-- KEYS[1] reservations hash  KEYS[2] settled reservations zset   ARGV[1] cutoff (ms)  ARGV[2] at most this many
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids > 0 then
  redis.call('HDEL', KEYS[1], unpack(ids))
  redis.call('ZREM', KEYS[2], unpack(ids))
end
return ok({forgotten = #ids})
