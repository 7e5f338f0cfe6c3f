-- A console session: its fields and its idle expiry at once.
-- KEYS[1] session hash  ARGV[1] ttl seconds  ARGV[2..] field, value pairs
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return ok()
