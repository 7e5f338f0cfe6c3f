-- Record the planner's decision for a push, once: the push's record, its dedup key, the pending inbox, the
-- marketing frequency caps and the delivery log, in the member's slot. A decision taken on facts that have
-- changed since (the record's version, a cap filled meanwhile) is refused as stale, to be planned again.
-- A new record stores the push's JSON as given; the fields the steps need of it come as arguments of their own.
--! uses _push
-- KEYS[1] pushes  KEYS[2] dedup  KEYS[3] inbox  KEYS[4] caps  KEYS[5] deliveries  KEYS[6] done
-- ARGV[1] push JSON  ARGV[2] push_id  ARGV[3] dedup key  ARGV[4] kind  ARGV[5] topic
-- ARGV[6] decided status  ARGV[7] channel  ARGV[8] until (ms)  ARGV[9] reason ('' for none of the last three)
-- ARGV[10] version the facts saw  ARGV[11] now ms  ARGV[12] today (yyyymmdd)  ARGV[13] this week's Monday
-- ARGV[14] marketing a day  ARGV[15] marketing a week  ARGV[16] inbox order  ARGV[17] log length
-- ARGV[18] keep final records (ms)  ARGV[19] keep dedup keys (ms)
local push = {push_id = ARGV[2], dedup_key = ARGV[3], kind = ARGV[4], topic = ARGV[5]}
local status, reason = ARGV[6], ARGV[9]
local now_ms = tonumber(ARGV[11])
local log, done = {KEYS[5], ARGV[17]}, {KEYS[6], ARGV[18]}

local record = load_record(KEYS[1], push.push_id)
local push_json = nil                    -- a loaded record has its push decoded already
if record then
  if record.v ~= tonumber(ARGV[10]) or not WAITING[record.status] then return fail('stale') end
elseif redis.call('ZSCORE', KEYS[2], push.dedup_key) then
  if reason ~= 'duplicate' then return fail('stale') end
  log_step(log, {push = push, status = 'dropped', channel = '', reason = 'duplicate'}, now_ms)
  return ok({duplicate = true})
else
  if tonumber(ARGV[10]) ~= 0 or reason == 'duplicate' then return fail('stale') end
  record, push_json = {push = push, status = 'planned', attempt = 0, retries = 0, v = 0}, ARGV[1]
end

-- A marketing push counts against the caps while it is queued or once sent; not while it waits.
if status == 'queued' and push.kind == 'marketing' then
  local counted = redis.call('HGETALL', KEYS[4])
  local today, week, mine = 0, 0, false
  for i = 1, #counted, 2 do
    local day = counted[i + 1]
    if counted[i] == push.push_id then
      mine = true
    elseif day < ARGV[13] then
      redis.call('HDEL', KEYS[4], counted[i])
    else
      week = week + 1
      if day == ARGV[12] then today = today + 1 end
    end
  end
  if not mine then
    if today >= tonumber(ARGV[14]) or week >= tonumber(ARGV[15]) then return fail('stale') end
    redis.call('HSET', KEYS[4], push.push_id, ARGV[12])
  end
else
  redis.call('HDEL', KEYS[4], push.push_id)
end

-- Every check passed: from here on the step is written.
if record.v == 0 then
  redis.call('ZADD', KEYS[2], now_ms, push.dedup_key)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms - tonumber(ARGV[19]))
end
if record.v > 0 then redis.call('ZREM', KEYS[3], push.push_id) end    -- a new push is in no inbox yet
if status == 'pending_inbox' then redis.call('ZADD', KEYS[3], tonumber(ARGV[16]), push.push_id) end
if status == 'queued' then record.attempt = record.attempt + 1 end
record.status = status
record.channel = ARGV[7]
record.until_ms = tonumber(ARGV[8])
record.reason = reason
record_step(KEYS[1], record, now_ms, log, done, push_json)
-- The caller has the push and the decision: only what the record adds to them goes back.
return ok({v = record.v, attempt = record.attempt, retries = record.retries, batch = record.batch})
