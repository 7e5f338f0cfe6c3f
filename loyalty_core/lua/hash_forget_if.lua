-- Forget a hash field only if it still holds the value the caller acted on (a newer value stays).
-- KEYS[1] hash  ARGV[1] field  ARGV[2] value
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return ok({forgotten = true})
end
return ok({forgotten = false})
