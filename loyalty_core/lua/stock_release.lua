-- The redemption did not happen: its reserved unit goes back to stock (and to the member's limit).
-- KEYS[1] stock hash  KEYS[2] reservations hash  KEYS[3] open reservations zset  KEYS[4] per-member counts
-- KEYS[5] settled reservations zset
-- ARGV[1] reservation_id  ARGV[2] now (iso)  ARGV[3] reason (an error code)  ARGV[4] now (ms)
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return fail('unknown_reservation') end
local reservation = cjson.decode(raw)
if reservation.state == 'released' then return ok({replayed = true}) end
if reservation.state == 'confirmed' then return fail('confirmed') end
reservation.state, reservation.released_at, reservation.reason = 'released', ARGV[2], ARGV[3]
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(reservation))
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'held', -1)
if reservation.limited then redis.call('HINCRBY', KEYS[1], 'left', 1) end
redis.call('HINCRBY', KEYS[4], reservation.member_id, -1)
return ok({replayed = false})
