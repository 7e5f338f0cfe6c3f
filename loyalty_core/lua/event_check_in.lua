-- A member with a place is at the event desk: attendance recorded once.
-- KEYS[1] seats  KEYS[2] checked in
-- ARGV[1] member_id
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return fail('not_signed_up') end
return ok({first = redis.call('SADD', KEYS[2], ARGV[1]) == 1})
