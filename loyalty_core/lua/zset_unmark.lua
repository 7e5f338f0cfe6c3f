-- Remove a member from a time-scored index unless a newer step marked it again since the cutoff
-- (outbox:dirty marks, push:due wake-ups).
-- KEYS[1] the zset   ARGV[1] member   ARGV[2] cutoff (epoch ms)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return ok({removed = true})
end
return ok({removed = false})
