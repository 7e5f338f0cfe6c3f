-- Revoke an API key; revoking it again keeps the first time.
-- KEYS[1] key hash  ARGV[1] now (ISO)
if redis.call('EXISTS', KEYS[1]) == 0 then return fail('unknown_key') end
redis.call('HSETNX', KEYS[1], 'revoked_at', ARGV[1])
return ok({fields = redis.call('HGETALL', KEYS[1])})
