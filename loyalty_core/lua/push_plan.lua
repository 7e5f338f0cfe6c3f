-- Record the planner's decision for a push, once: the push's record, its dedup key, the pending inbox, the
-- marketing frequency caps and the delivery log, in the member's slot. A decision taken on facts that have
-- changed since (the record's version, a cap filled meanwhile) is refused as stale, to be planned again.
--! uses _push
-- KEYS[1] pushes  KEYS[2] dedup  KEYS[3] inbox  KEYS[4] caps  KEYS[5] deliveries  KEYS[6] done
-- ARGV[1] push JSON  ARGV[2] decision JSON {status, channel?, until_ms?, reason?}  ARGV[3] version the facts saw
-- ARGV[4] now ms  ARGV[5] today (yyyymmdd)  ARGV[6] this week's Monday (yyyymmdd)  ARGV[7] marketing a day
-- ARGV[8] marketing a week  ARGV[9] inbox order  ARGV[10] log length  ARGV[11] keep final records (ms)
-- ARGV[12] keep dedup keys (ms)
local push = cjson.decode(ARGV[1])
local decision = cjson.decode(ARGV[2])
local now_ms = tonumber(ARGV[4])
local log, done = {KEYS[5], ARGV[10]}, {KEYS[6], ARGV[11]}

local record = load_record(KEYS[1], push.push_id)
if record then
  if record.v ~= tonumber(ARGV[3]) or not WAITING[record.status] then return fail('stale') end
elseif redis.call('ZSCORE', KEYS[2], push.dedup_key) then
  if decision.reason ~= 'duplicate' then return fail('stale') end
  log_step(log, {push = push, status = 'dropped', channel = '', reason = 'duplicate'}, now_ms)
  return ok({duplicate = true})
else
  if tonumber(ARGV[3]) ~= 0 or decision.reason == 'duplicate' then return fail('stale') end
  record = {push = push, status = 'planned', attempt = 0, retries = 0, v = 0}
end

-- A marketing push counts against the caps while it is queued or once sent; not while it waits.
if decision.status == 'queued' and push.kind == 'marketing' then
  local counted = redis.call('HGETALL', KEYS[4])
  local today, week, mine = 0, 0, false
  for i = 1, #counted, 2 do
    local day = counted[i + 1]
    if counted[i] == push.push_id then
      mine = true
    elseif day < ARGV[6] then
      redis.call('HDEL', KEYS[4], counted[i])
    else
      week = week + 1
      if day == ARGV[5] then today = today + 1 end
    end
  end
  if not mine then
    if today >= tonumber(ARGV[7]) or week >= tonumber(ARGV[8]) then return fail('stale') end
    redis.call('HSET', KEYS[4], push.push_id, ARGV[5])
  end
else
  redis.call('HDEL', KEYS[4], push.push_id)
end

-- Every check passed: from here on the step is written.
if record.v == 0 then
  redis.call('ZADD', KEYS[2], now_ms, push.dedup_key)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms - tonumber(ARGV[12]))
end
if record.v > 0 then redis.call('ZREM', KEYS[3], push.push_id) end    -- a new push is in no inbox yet
if decision.status == 'pending_inbox' then redis.call('ZADD', KEYS[3], tonumber(ARGV[9]), push.push_id) end
if decision.status == 'queued' then record.attempt = record.attempt + 1 end
record.status = decision.status
record.channel = decision.channel or ''
record.until_ms = decision.until_ms
record.reason = decision.reason or ''
record_step(KEYS[1], record, now_ms, log, done)
-- The caller has the push and the decision: only what the record adds to them goes back.
return ok({v = record.v, attempt = record.attempt, retries = record.retries, batch = record.batch})
