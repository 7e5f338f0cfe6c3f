-- Include a queued mass push in a batch, counting the member's mass message for this calendar month as the
-- platform will (members over their monthly quota are filtered out silently, so we never include them).
--! uses _push
-- KEYS[1] pushes  KEYS[2] push facts  KEYS[3] profile  KEYS[4] deliveries  KEYS[5] done  KEYS[6] caps
-- ARGV[1] push id  ARGV[2] attempt  ARGV[3] batch id  ARGV[4] month (yyyymm)  ARGV[5] mass messages a month
-- ARGV[6] now ms  ARGV[7] log length  ARGV[8] keep final records (ms)
local now_ms = tonumber(ARGV[6])
local log, done = {KEYS[4], ARGV[7]}, {KEYS[5], ARGV[8]}
local record = load_record(KEYS[1], ARGV[1])
if not record or record.attempt ~= tonumber(ARGV[2]) then return ok({action = 'ack'}) end
if record.status == 'in_flight' and record.batch == ARGV[3] then
  return ok({action = 'included', openid = redis.call('HGET', KEYS[3], 'openid')})
end
if record.status ~= 'queued' then return ok({action = 'ack'}) end
if not reachable(KEYS[3], KEYS[2]) then
  set_aside(KEYS[1], KEYS[6], record, 'dropped', 'unsubscribed', now_ms, log, done)
  return ok({action = 'dropped', record = record})
end
if redis.call('HGET', KEYS[2], 'mass_month') ~= ARGV[4] then
  redis.call('HSET', KEYS[2], 'mass_month', ARGV[4], 'mass_count', 0)
end
if tonumber(redis.call('HGET', KEYS[2], 'mass_count')) >= tonumber(ARGV[5]) then
  set_aside(KEYS[1], KEYS[6], record, 'planned', 'mass_quota_used', now_ms, log, done)
  return ok({action = 'replan', record = record})
end
redis.call('HINCRBY', KEYS[2], 'mass_count', 1)
record.status, record.batch, record.flight_ms = 'in_flight', ARGV[3], now_ms
record_step(KEYS[1], record, now_ms, log, done)
return ok({action = 'included', openid = redis.call('HGET', KEYS[3], 'openid')})
