-- The imported member is claimed by the one follower folding into them (no other follower may, and none has
-- claimed the member by following with their openid).
-- KEYS[1] imported member's profile   ARGV[1] follower member_id  ARGV[2] follower's openid
local held = redis.call('HMGET', KEYS[1], 'status', 'openid', 'fold_from')
if held[3] == ARGV[1] then return ok({replayed = true}) end
if held[1] ~= 'imported' or held[2] or held[3] then return fail('phone_taken') end
redis.call('HSET', KEYS[1], 'fold_from', ARGV[1])
return ok({replayed = false})
