-- Subscribe-message consents from one pop-up: each accepted template allows one more send.
-- KEYS[1] consents  KEYS[2] op key   ARGV[1] op ttl   ARGV[2..] accepted template ids
local prior = replayed(KEYS[2])
if prior then return prior end
local left = {}
for i = 2, #ARGV do
  left[ARGV[i]] = redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
end
return remember(KEYS[2], ARGV[1], ok({left = left}))
