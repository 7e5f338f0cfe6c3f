-- Give the scheduler's lease up (a leader that stops), if it is still this holder's under this token.
-- KEYS[1] lease hash   ARGV[1] holder  ARGV[2] token
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  redis.call('HSET', KEYS[1], 'holder', '', 'expires_ms', 0)
  return ok({released = true})
end
return ok({released = false})
