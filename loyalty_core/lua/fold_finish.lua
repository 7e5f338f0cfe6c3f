-- The fold's last step: the follower is marked merged into the imported member (and resolves to them).
-- KEYS[1] follower's profile  KEYS[2] their fold record  KEYS[3] their phone challenge  KEYS[4] their outbox
-- ARGV[1] follower member_id  ARGV[2] imported member_id  ARGV[3] now (iso)
if redis.call('HGET', KEYS[1], 'merged_into') == ARGV[2] then return ok({replayed = true}) end
redis.call('HSET', KEYS[1], 'status', 'merged', 'merged_into', ARGV[2], 'merged_at', ARGV[3])
redis.call('HSET', KEYS[2], 'done_at', ARGV[3])
redis.call('DEL', KEYS[3])
emit(KEYS[4], 'member_merged:' .. ARGV[1], 'member_merged', ARGV[1], ARGV[3], {into = ARGV[2]})
return ok({replayed = false})
