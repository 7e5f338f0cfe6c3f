-- Issue a coupon to a member, once per issue key, within the template's per-member limit. The coupon_issued
-- event comes whole from the caller (which relays its own copy, without reading the outbox back).
-- KEYS[1] coupons hash  KEYS[2] coupon counts hash  KEYS[3] coupon ops hash  KEYS[4] outbox
-- ARGV[1] member_id  ARGV[2] now (iso)  ARGV[3] issue_key  ARGV[4] code  ARGV[5] coupon JSON
-- ARGV[6] template_id  ARGV[7] per-member limit (0 = none)  ARGV[8] event_id  ARGV[9] event JSON
local op = 'issue:' .. ARGV[3]
local prior = redis.call('HGET', KEYS[3], op)
if prior then return ok({code = prior, replayed = true}) end
local limit = tonumber(ARGV[7])
if limit > 0 then
  local held = tonumber(redis.call('HGET', KEYS[2], ARGV[6]) or '0')
  if held >= limit then return fail('coupon_limit_reached', {held = held}) end
end
redis.call('HSET', KEYS[1], ARGV[4], ARGV[5])
redis.call('HINCRBY', KEYS[2], ARGV[6], 1)
redis.call('HSET', KEYS[3], op, ARGV[4])
redis.call('HSETNX', KEYS[4], ARGV[8], ARGV[9])
return ok({code = ARGV[4], replayed = false})
