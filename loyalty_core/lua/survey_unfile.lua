-- The survey of this purchase was asked: forget it, unless a later purchase was filed meanwhile.
-- KEYS[1] due zset  KEYS[2] filed hash
-- ARGV[1] member_id  ARGV[2] txn_id
local filed = redis.call('HGET', KEYS[2], ARGV[1])
if not filed or cjson.decode(filed).txn_id ~= ARGV[2] then return ok({removed = false}) end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return ok({removed = true})
