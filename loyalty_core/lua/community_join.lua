-- The member joins a community (their side): at most ARGV[2] communities.
-- KEYS[1] the member's set of community ids
-- ARGV[1] community_id  ARGV[2] most communities a member may be in
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return ok({joined = false}) end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return fail('member_community_limit') end
redis.call('SADD', KEYS[1], ARGV[1])
return ok({joined = true})
