-- A confirmed broadcast in its community's list, once (filing it again changes nothing); the list is capped.
-- KEYS[1] the community's broadcasts
-- ARGV[1] broadcast_id  ARGV[2] confirmed at (ms)  ARGV[3] how many the list keeps
local added = redis.call('ZADD', KEYS[1], 'NX', tonumber(ARGV[2]), ARGV[1]) == 1
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
return ok({added = added})
