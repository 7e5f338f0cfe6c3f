-- Take the scheduler's lease if nobody holds it or it lapsed (a new fencing token), or renew it for its
-- holder (the same token). The lease is judged on the callers' clocks (now, in ms), so tests can move them.
-- KEYS[1] lease hash   ARGV[1] holder  ARGV[2] now (ms)  ARGV[3] lease ttl (ms)
local now, holder = tonumber(ARGV[2]), redis.call('HGET', KEYS[1], 'holder') or ''
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires_ms') or '0')
local live = holder ~= '' and expires > now
if live and holder ~= ARGV[1] then
  return ok({leader = false, holder = holder, token = tonumber(redis.call('HGET', KEYS[1], 'token')), expires_ms = expires})
end
if not live then
  redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', redis.call('HINCRBY', KEYS[1], 'fence', 1))
end
redis.call('HSET', KEYS[1], 'expires_ms', now + tonumber(ARGV[3]))
return ok({leader = true, holder = ARGV[1], token = tonumber(redis.call('HGET', KEYS[1], 'token')),
           expires_ms = now + tonumber(ARGV[3])})
