-- The member leaves a community (their side).
-- KEYS[1] the member's set of community ids
-- ARGV[1] community_id
return ok({left = redis.call('SREM', KEYS[1], ARGV[1]) == 1})
