-- Revoke an issued coupon (staff): it can no longer be used. Revoking again changes nothing.
-- KEYS[1] coupons hash  KEYS[2] outbox   ARGV[1] member_id  ARGV[2] now (iso)  ARGV[3] code
local raw = redis.call('HGET', KEYS[1], ARGV[3])
if not raw then return fail('unknown_coupon') end
local coupon = cjson.decode(raw)
if coupon.status == 'revoked' then return ok({replayed = true}) end
if coupon.status ~= 'issued' then return fail(coupon.status == 'used' and 'already_used' or coupon.status) end
coupon.status, coupon.revoked_at = 'revoked', ARGV[2]
redis.call('HSET', KEYS[1], ARGV[3], cjson.encode(coupon))
emit(KEYS[2], 'coupon_revoked:' .. ARGV[3], 'coupon_revoked', ARGV[1], ARGV[2],
     {template_id = coupon.template.id, code_tail = string.sub(ARGV[3], -4)})
return ok({replayed = false})
