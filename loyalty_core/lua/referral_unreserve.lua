-- A cancelled reward gives its place under the monthly cap back. Once per referee.
-- KEYS[1] referrer hash  KEYS[2] referees hash
-- ARGV[1] referee member_id  ARGV[2] now (iso)  ARGV[3] reason
local mark = 'reserve:' .. ARGV[1]
local month = redis.call('HGET', KEYS[1], mark)
if not month or not string.match(month, '^%d+$') then return ok({changed = false}) end
redis.call('HINCRBY', KEYS[1], 'reserved:' .. month, -1)
redis.call('HINCRBY', KEYS[1], 'pending', -1)
redis.call('HSET', KEYS[1], mark, 'cancelled:' .. month)
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({status = 'cancelled', reason = ARGV[3], at = ARGV[2]}))
return ok({changed = true})
