-- KEYS[1] outbox:dirty   ARGV[1] member_id   ARGV[2] cutoff (epoch ms)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return ok({removed = true})
end
return ok({removed = false})
