-- Record how a run ended, if it is still this holder's; the job's last run (and last day done) follow. A leader's
-- run (one with a lease token) is recorded only while that lease is still live under the same token: a leader
-- that lost its lease mid-run is fenced off, and the next leader runs the day (each job is idempotent per member).
-- KEYS[1] run hash  KEYS[2] the job's last-run hash  KEYS[3] lease hash
-- ARGV[1] holder  ARGV[2] status (done | failed)  ARGV[3] summary  ARGV[4] now (iso)  ARGV[5] day (yyyymmdd)
-- ARGV[6] now (ms)
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'status') ~= 'running' then
  return ok({recorded = false})
end
local token = redis.call('HGET', KEYS[1], 'token') or ''
if token ~= '' then
  local lease = redis.call('HMGET', KEYS[3], 'holder', 'token', 'expires_ms')
  if lease[1] ~= ARGV[1] or lease[2] ~= token or tonumber(lease[3] or '0') <= tonumber(ARGV[6]) then
    return ok({recorded = false})
  end
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'summary', ARGV[3], 'at', ARGV[4])
redis.call('HSET', KEYS[2], 'day', ARGV[5], 'status', ARGV[2], 'summary', ARGV[3], 'at', ARGV[4], 'holder', ARGV[1])
if ARGV[2] == 'done' and tonumber(redis.call('HGET', KEYS[2], 'done_day') or '0') < tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[2], 'done_day', ARGV[5])
end
return ok({recorded = true})
