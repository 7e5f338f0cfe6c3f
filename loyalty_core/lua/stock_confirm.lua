-- The redemption completed: its reserved unit is sold for good.
-- KEYS[1] stock hash  KEYS[2] reservations hash  KEYS[3] open reservations zset  KEYS[4] per-member counts
-- KEYS[5] settled reservations zset   ARGV[1] reservation_id  ARGV[2] now (iso)  ARGV[3] now (ms)
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return fail('unknown_reservation') end
local reservation = cjson.decode(raw)
if reservation.state == 'confirmed' then return ok({replayed = true}) end
if reservation.state == 'released' then return fail('released', {reason = reservation.reason}) end
reservation.state, reservation.confirmed_at = 'confirmed', ARGV[2]
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(reservation))
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'held', -1)
redis.call('HINCRBY', KEYS[1], 'sold', 1)
return ok({replayed = false})
