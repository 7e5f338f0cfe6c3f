-- A sender takes a queued push: checks its outbox entry is the current attempt, takes what its channel
-- needs (one message of the customer-service window, one subscribe consent) and marks it in flight, so a
-- sender that dies mid-call leaves a mark. A mark older than the call timeout means the outcome is unknown:
-- the push is in doubt (sent again only if its kind says so).
--! uses _push
-- KEYS[1] pushes  KEYS[2] push facts  KEYS[3] consents  KEYS[4] profile  KEYS[5] deliveries  KEYS[6] done
-- KEYS[7] caps
-- ARGV[1] push id  ARGV[2] attempt  ARGV[3] now ms  ARGV[4] call timeout ms  ARGV[5] kinds resent when in doubt
-- (comma-separated)  ARGV[6] window margin ms  ARGV[7] log length  ARGV[8] keep final records (ms)
local now_ms = tonumber(ARGV[3])
local log, done = {KEYS[5], ARGV[7]}, {KEYS[6], ARGV[8]}
local record = load_record(KEYS[1], ARGV[1])
if not record or record.attempt ~= tonumber(ARGV[2]) then return ok({action = 'ack'}) end

if record.status == 'in_flight' then
  if now_ms - record.flight_ms <= tonumber(ARGV[4]) then return ok({action = 'busy'}) end
  if record.channel == 'mass' then return ok({action = 'mass_resend', record = record}) end
  local resend = string.find(',' .. ARGV[5] .. ',', ',' .. record.push.kind .. ',', 1, true)
  if not resend then
    record.status, record.reason = 'in_doubt', 'no outcome within the call timeout'
    record_step(KEYS[1], record, now_ms, log, done)
    return ok({action = 'in_doubt', record = record})
  end
  record.reason = 'sent again after an unknown outcome'
elseif record.status == 'in_doubt' then
  return ok({action = 'in_doubt', record = record})   -- listed again: the step after may have been cut short
elseif record.status == 'planned' then
  return ok({action = 'replan', record = record})     -- set aside by this attempt, and not yet planned again
elseif record.status ~= 'queued' then
  return ok({action = 'ack'})
end

if now_ms >= record.push.not_after_ms then       -- it waited in the outbox past its time
  set_aside(KEYS[1], KEYS[7], record, 'expired', 'not_after passed in the outbox', now_ms, log, done)
  return ok({action = 'expired', record = record})
end
local openid = redis.call('HGET', KEYS[4], 'openid')
if not reachable(KEYS[4], KEYS[2]) then
  set_aside(KEYS[1], KEYS[7], record, 'dropped', 'unsubscribed', now_ms, log, done)
  return ok({action = 'dropped', record = record})
end
if record.channel == 'mass' then return ok({action = 'mass', record = record, openid = openid}) end

local refused = false
if record.channel == 'custom' then
  refused = take_window(KEYS[2], now_ms, tonumber(ARGV[6]))
elseif record.channel == 'subscribe' then
  local template_id = record.push.content.subscribe.template_id
  if tonumber(redis.call('HGET', KEYS[3], template_id) or '0') < 1 then
    refused = 'no_consent'
  else
    redis.call('HINCRBY', KEYS[3], template_id, -1)
  end
end
if refused then
  set_aside(KEYS[1], KEYS[7], record, 'planned', refused, now_ms, log, done)
  return ok({action = 'replan', record = record})
end
record.status, record.flight_ms = 'in_flight', now_ms
record_step(KEYS[1], record, now_ms, log, done)
return ok({action = 'send', record = record, openid = openid})
