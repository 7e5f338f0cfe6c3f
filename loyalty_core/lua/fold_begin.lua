-- A follower binding the phone of an imported member begins to fold into them: the merge record, once.
-- KEYS[1] follower's profile  KEYS[2] follower's fold record
-- ARGV[1] follower member_id  ARGV[2] imported member_id  ARGV[3] now (iso)
local into = redis.call('HGET', KEYS[2], 'into')
if into then
  if into ~= ARGV[2] then return fail('phone_taken') end
  return ok({into = into, replayed = true})
end
local held = redis.call('HMGET', KEYS[1], 'status', 'phone_hash', 'merged_into')
if not held[1] or held[3] then return fail('phone_taken') end
if held[2] then return fail('phone_taken') end
redis.call('HSET', KEYS[2], 'into', ARGV[2], 'started_at', ARGV[3])
return ok({into = ARGV[2], replayed = false})
