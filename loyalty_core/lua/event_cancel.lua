-- A member gives up their place (the head of the waitlist takes it) or their waitlist position.
-- KEYS[1] seats  KEYS[2] waitlist  KEYS[3] promoted
-- ARGV[1] member_id
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then return ok({was = 'waitlisted'}) end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return fail('not_signed_up') end
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #head == 0 then return ok({was = 'confirmed'}) end
redis.call('ZREM', KEYS[2], head[1])
redis.call('ZADD', KEYS[1], head[2], head[1])
redis.call('SADD', KEYS[3], head[1])
return ok({was = 'confirmed', promoted = head[1]})
