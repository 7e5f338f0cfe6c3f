-- The fold's last step: the follower is marked merged into the imported member (and resolves to them).
-- KEYS[1] follower's profile  KEYS[2] their fold record  KEYS[3] their phone challenge
-- ARGV[1] imported member_id  ARGV[2] now (iso)
if redis.call('HGET', KEYS[1], 'merged_into') == ARGV[1] then return ok({replayed = true}) end
redis.call('HSET', KEYS[1], 'status', 'merged', 'merged_into', ARGV[1], 'merged_at', ARGV[2])
redis.call('HSET', KEYS[2], 'done_at', ARGV[2])
redis.call('DEL', KEYS[3])
return ok({replayed = false})
