-- The broadcast went to the push side: what the planner decided for its audience.
-- KEYS[1] the broadcast's hash
-- ARGV: field, value, field, value, …
if redis.call('EXISTS', KEYS[1]) == 0 then return fail('unknown_broadcast') end
redis.call('HSET', KEYS[1], 'status', 'sent', unpack(ARGV))
return ok({})
