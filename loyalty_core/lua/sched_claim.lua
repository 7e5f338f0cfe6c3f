-- Claim the run of one job for one day. Done: never again. Running: left to its runner while that runner is
-- live (a leader's run under the live lease's token, or a run by hand within its time limit); otherwise taken
-- over. A leader's claim (ARGV[4] = its token) needs the lease; a run by hand (ARGV[4] = '') does not.
-- KEYS[1] lease hash  KEYS[2] run hash
-- ARGV[1] holder  ARGV[2] now (ms)  ARGV[3] now (iso)  ARGV[4] token ('' = by hand)  ARGV[5] run time limit (ms)
-- ARGV[6] run record ttl (s)
local now = tonumber(ARGV[2])
local lease_holder = redis.call('HGET', KEYS[1], 'holder') or ''
local lease_token = redis.call('HGET', KEYS[1], 'token') or ''
local live = lease_holder ~= '' and tonumber(redis.call('HGET', KEYS[1], 'expires_ms') or '0') > now
if ARGV[4] ~= '' and not (live and lease_holder == ARGV[1] and lease_token == ARGV[4]) then
  return fail('not_leader')
end

local function record()
  local r = redis.call('HMGET', KEYS[2], 'status', 'summary', 'at', 'holder')
  return {status = r[1], summary = r[2] or '', at = r[3] or '', holder = r[4] or ''}
end

local status = redis.call('HGET', KEYS[2], 'status')
if status == 'done' then return ok({granted = false, record = record()}) end
if status == 'running' then
  local token = redis.call('HGET', KEYS[2], 'token')
  local runner_live
  if token == '' then
    runner_live = tonumber(redis.call('HGET', KEYS[2], 'expires_ms')) > now
  else
    runner_live = live and token == lease_token
  end
  if runner_live then return ok({granted = false, record = record()}) end
end
redis.call('HSET', KEYS[2], 'status', 'running', 'holder', ARGV[1], 'token', ARGV[4], 'at', ARGV[3],
           'expires_ms', now + tonumber(ARGV[5]))
redis.call('HINCRBY', KEYS[2], 'attempts', 1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
return ok({granted = true})
