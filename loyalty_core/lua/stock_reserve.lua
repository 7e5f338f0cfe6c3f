-- Reserve one unit of an item for a redemption, once per reservation id (the redemption id): stock
-- and the per-member limit are checked and taken together, in the item's slot.
-- KEYS[1] stock hash  KEYS[2] reservations hash  KEYS[3] open reservations zset  KEYS[4] per-member counts
-- ARGV[1] reservation_id  ARGV[2] member_id  ARGV[3] points  ARGV[4] initial stock (-1 = unlimited)
-- ARGV[5] per-member limit (0 = none)  ARGV[6] now (ms)  ARGV[7] now (iso)  ARGV[8] item_id
local prior = redis.call('HGET', KEYS[2], ARGV[1])
if prior then return ok({reservation = cjson.decode(prior), replayed = true}) end

local initial, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local limited = initial >= 0
if limited then
  redis.call('HSETNX', KEYS[1], 'left', initial)
  if tonumber(redis.call('HGET', KEYS[1], 'left')) <= 0 then return fail('sold_out') end
end
if limit > 0 and tonumber(redis.call('HGET', KEYS[4], ARGV[2]) or '0') >= limit then
  return fail('item_limit_reached')
end
if limited then redis.call('HINCRBY', KEYS[1], 'left', -1) end
redis.call('HINCRBY', KEYS[1], 'held', 1)
redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
local reservation = {reservation_id = ARGV[1], item_id = ARGV[8], member_id = ARGV[2], points = tonumber(ARGV[3]),
                     state = 'reserved', limited = limited, reserved_at = ARGV[7]}
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(reservation))
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
return ok({reservation = reservation, replayed = false})
