-- Use one consent for a subscribe-message send, if the member has one left.
-- KEYS[1] consents  KEYS[2] op key   ARGV[1] op ttl   ARGV[2] template id
local prior = replayed(KEYS[2])
if prior then return prior end
local left = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
if left < 1 then
  return fail('no_consent')
end
redis.call('HINCRBY', KEYS[1], ARGV[2], -1)
return remember(KEYS[2], ARGV[1], ok({left = left - 1}))
