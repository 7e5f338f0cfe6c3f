-- A member's action opens a customer-service window that replaces the previous one (quotas do not add up).
-- Idempotent by the callback's delivery key; an action older than the current window changes nothing.
-- Says how many pushes wait in the member's pending inbox (those that a message of theirs releases).
-- KEYS[1] push facts  KEYS[2] pending inbox   ARGV[1] action  ARGV[2] opened ms  ARGV[3] closes ms
-- ARGV[4] messages allowed  ARGV[5] delivery key
local pending = redis.call('ZCARD', KEYS[2])
local current = redis.call('HMGET', KEYS[1], 'w_key', 'w_opened')
if current[1] == ARGV[5] or (current[2] and tonumber(current[2]) > tonumber(ARGV[2])) then
  return ok({opened = false, pending = pending})
end
redis.call('HSET', KEYS[1], 'w_action', ARGV[1], 'w_opened', ARGV[2], 'w_closes', ARGV[3], 'w_limit', ARGV[4],
           'w_used', 0, 'w_key', ARGV[5])
redis.call('HDEL', KEYS[1], 'unreachable')
return ok({opened = true, pending = pending})
