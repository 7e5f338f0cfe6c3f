-- A member signs up: a place while there is one, else the end of the waitlist; once (a repeat answers the same).
-- KEYS[1] seats  KEYS[2] waitlist  KEYS[3] arrivals
-- ARGV[1] member_id  ARGV[2] capacity
local function waiting(already)
  return ok({status = 'waitlisted', position = redis.call('ZRANK', KEYS[2], ARGV[1]) + 1, already = already})
end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return ok({status = 'confirmed', already = true}) end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return waiting(true) end
local arrival = redis.call('INCR', KEYS[3])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], arrival, ARGV[1])
  return ok({status = 'confirmed', already = false})
end
redis.call('ZADD', KEYS[2], arrival, ARGV[1])
return waiting(false)
