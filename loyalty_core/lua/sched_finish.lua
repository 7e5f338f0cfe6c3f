-- Record how a run ended, if it is still this holder's; the job's last run (and last day done) follow.
-- KEYS[1] run hash  KEYS[2] the job's last-run hash
-- ARGV[1] holder  ARGV[2] status (done | failed)  ARGV[3] summary  ARGV[4] now (iso)  ARGV[5] day (yyyymmdd)
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'status') ~= 'running' then
  return ok({recorded = false})
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'summary', ARGV[3], 'at', ARGV[4])
redis.call('HSET', KEYS[2], 'day', ARGV[5], 'status', ARGV[2], 'summary', ARGV[3], 'at', ARGV[4], 'holder', ARGV[1])
if ARGV[2] == 'done' and tonumber(redis.call('HGET', KEYS[2], 'done_day') or '0') < tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[2], 'done_day', ARGV[5])
end
return ok({recorded = true})
