-- Count a broadcast against its manager's day, once: a repeat of the same broadcast is not counted again.
-- KEYS[1] the manager's broadcasts of the day
-- ARGV[1] broadcast_id  ARGV[2] most broadcasts a day  ARGV[3] ttl seconds
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return ok({replayed = true}) end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return fail('broadcast_limit', {limit = tonumber(ARGV[2])}) end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return ok({replayed = false})
