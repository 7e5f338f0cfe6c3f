-- The referee made a first purchase: reserve a place under the referrer's monthly cap for the reward
-- (given back if the reward is cancelled). Once per referee.
-- KEYS[1] referrer hash  KEYS[2] referees hash
-- ARGV[1] referee member_id  ARGV[2] month of the purchase (yyyymm)  ARGV[3] monthly cap  ARGV[4] now (iso)
local mark = 'reserve:' .. ARGV[1]
local prior = redis.call('HGET', KEYS[1], mark)
if prior then return ok({reserved = prior ~= 'capped', replayed = true}) end

local used = tonumber(redis.call('HGET', KEYS[1], 'reserved:' .. ARGV[2]) or '0')
if used >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], mark, 'capped')
  redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({status = 'cancelled', reason = 'monthly_cap', at = ARGV[4]}))
  return ok({reserved = false, replayed = false})
end
redis.call('HINCRBY', KEYS[1], 'reserved:' .. ARGV[2], 1)
redis.call('HINCRBY', KEYS[1], 'pending', 1)
redis.call('HSET', KEYS[1], mark, ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({status = 'pending', at = ARGV[4]}))
return ok({reserved = true, replayed = false})
