-- The outcome of a send, recorded once for the attempt in flight, with what it taught us about the member:
-- a window the platform says is closed (45015/45047), a consent it says is gone (43101), a member it says
-- does not follow (43004), a mass quota not used after all.
--! uses _push
-- KEYS[1] pushes  KEYS[2] push facts  KEYS[3] consents  KEYS[4] caps  KEYS[5] deliveries  KEYS[6] done
-- ARGV[1] push id  ARGV[2] attempt  ARGV[3] outcome JSON {status, reason?, until_ms?, close_window?,
-- clear_consent?, unreachable?, refund_mass?}  ARGV[4] now ms  ARGV[5] log length  ARGV[6] keep final records (ms)
local now_ms = tonumber(ARGV[4])
local outcome = cjson.decode(ARGV[3])
local record = load_record(KEYS[1], ARGV[1])
if not record or record.attempt ~= tonumber(ARGV[2]) or record.status ~= 'in_flight' then
  return ok({ignored = true})
end
if outcome.close_window then redis.call('HSET', KEYS[2], 'w_closes', now_ms) end
if outcome.unreachable then redis.call('HSET', KEYS[2], 'unreachable', '1') end
if outcome.clear_consent then redis.call('HSET', KEYS[3], record.push.content.subscribe.template_id, 0) end
if outcome.refund_mass and tonumber(redis.call('HGET', KEYS[2], 'mass_count') or '0') > 0 then
  redis.call('HINCRBY', KEYS[2], 'mass_count', -1)
end
if outcome.status ~= 'sent' and outcome.status ~= 'in_doubt' then
  redis.call('HDEL', KEYS[4], record.push.push_id)   -- it did not reach the member: the caps forget it
end
if outcome.status == 'deferred' then record.retries = (record.retries or 0) + 1 end
record.status, record.reason, record.until_ms = outcome.status, outcome.reason or '', outcome.until_ms
record_step(KEYS[1], record, now_ms, {KEYS[5], ARGV[5]}, {KEYS[6], ARGV[6]})
return ok({status = record.status})
