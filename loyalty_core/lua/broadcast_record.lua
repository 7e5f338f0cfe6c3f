-- A broadcast's facts, once (a repeat keeps the first); `finish` fields are set by broadcast_finish.
-- KEYS[1] the broadcast's hash
-- ARGV: field, value, field, value, …
if redis.call('EXISTS', KEYS[1]) == 1 then return ok({replayed = true}) end
redis.call('HSET', KEYS[1], unpack(ARGV))
return ok({replayed = false})
