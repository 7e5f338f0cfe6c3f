-- One more failed login of an address, counted within a window that starts at the first failure.
-- KEYS[1] failures counter  ARGV[1] window seconds
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return ok({failures = failures})
