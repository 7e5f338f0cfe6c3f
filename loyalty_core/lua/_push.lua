-- What the push scripts share (loyalty_core/push): a push's record, its delivery log, the member's
-- customer-service window. A record is JSON in the member's pushes hash:
--   {push = {...}, status, channel, until_ms, reason, attempt, retries, v, batch, flight_ms, updated_ms}

local WAITING = {planned = true, deferred = true, pending_inbox = true}
local FINAL = {sent = true, failed = true, in_doubt = true, dropped = true, expired = true}

local function load_record(pushes_key, push_id)
  local raw = redis.call('HGET', pushes_key, push_id)
  if raw then return cjson.decode(raw) end
  return nil
end

-- The member's delivery log, newest first, bounded. log = {key, length}.
local function log_step(log, record, now_ms)
  local entry = {at = now_ms, push_id = record.push.push_id, topic = record.push.topic, kind = record.push.kind,
                 status = record.status, channel = record.channel, reason = record.reason}
  entry['until'] = record.until_ms
  if redis.call('LPUSH', log[1], cjson.encode(entry)) > tonumber(log[2]) then
    redis.call('LTRIM', log[1], 0, tonumber(log[2]) - 1)
  end
end

-- A record as stored; push_json: its push as the JSON text the caller gave (a new record's, whose push the script
-- did not decode), spliced in as it is. Nil: record.push is the whole push.
local function encode_record(record, push_json)
  if not push_json then return cjson.encode(record) end
  local push = record.push
  record.push = nil
  local rest = cjson.encode(record)        -- never empty: a record always has its status
  record.push = push
  return '{"push":' .. push_json .. ',' .. string.sub(rest, 2)
end

-- One step of the push's life: the record changes (its version with it) and the member's log says so.
-- done = {key, keep_ms}: final records are forgotten keep_ms after they end. push_json: as encode_record's.
local function record_step(pushes_key, record, now_ms, log, done, push_json)
  record.v = (record.v or 0) + 1
  record.updated_ms = now_ms
  redis.call('HSET', pushes_key, record.push.push_id, encode_record(record, push_json))
  log_step(log, record, now_ms)
  if FINAL[record.status] then
    redis.call('ZADD', done[1], now_ms, record.push.push_id)
    local old = redis.call('ZRANGEBYSCORE', done[1], '-inf', now_ms - tonumber(done[2]), 'LIMIT', 0, 20)
    for _, push_id in ipairs(old) do
      redis.call('HDEL', pushes_key, push_id)
      redis.call('ZREM', done[1], push_id)
    end
  end
end

-- The push will not go out on this attempt (expired, the member gone, planned again): the frequency caps forget
-- it, and the step is recorded.
local function set_aside(pushes_key, caps_key, record, status, reason, now_ms, log, done)
  record.status, record.reason = status, reason
  redis.call('HDEL', caps_key, record.push.push_id)
  record_step(pushes_key, record, now_ms, log, done)
end

-- Take one message from the member's customer-service window: false when taken, else why not.
local function take_window(facts_key, now_ms, margin_ms)
  local w = redis.call('HMGET', facts_key, 'w_closes', 'w_limit', 'w_used')
  local closes = tonumber(w[1])
  if not closes or now_ms + margin_ms >= closes then return 'window_closed' end
  if tonumber(w[3] or '0') >= tonumber(w[2]) then return 'window_used_up' end
  redis.call('HINCRBY', facts_key, 'w_used', 1)
  return false
end

-- The member can be messaged: following (profile) and not reported unreachable by the platform (43004).
local function reachable(profile_key, facts_key)
  return redis.call('HGET', profile_key, 'status') == 'subscribed' and redis.call('HGET', facts_key, 'unreachable') ~= '1'
end
