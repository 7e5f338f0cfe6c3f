-- A new console user, unless the email is taken; with its audit entry.
-- KEYS[1] user hash  KEYS[2] users zset  KEYS[3] audit stream
-- ARGV[1] email  ARGV[2] created (epoch ms)  ARGV[3] role  ARGV[4] password hash  ARGV[5] created_at (ISO)
-- ARGV[6] created_by  ARGV[7] audit cap  ARGV[8..] audit entry as field, value pairs
if redis.call('EXISTS', KEYS[1]) == 1 then return fail('exists') end
redis.call('HSET', KEYS[1], 'role', ARGV[3], 'password_hash', ARGV[4], 'created_at', ARGV[5],
           'created_by', ARGV[6], 'disabled_at', '')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', unpack(ARGV, 8))
return ok()
