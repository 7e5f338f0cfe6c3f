-- The expiry job: an issued coupon past its validity becomes expired. `settled` tells the caller the
-- coupon needs no expiry index entry any more (expired now, used, revoked, or never written).
-- KEYS[1] coupons hash  KEYS[2] outbox   ARGV[1] member_id  ARGV[2] now (iso)  ARGV[3] code  ARGV[4] now (ms)
local raw = redis.call('HGET', KEYS[1], ARGV[3])
if not raw then return ok({expired = false, settled = true}) end
local coupon = cjson.decode(raw)
if coupon.status ~= 'issued' then return ok({expired = false, settled = true}) end
if tonumber(ARGV[4]) < coupon.expires_ms then return ok({expired = false, settled = false}) end
coupon.status, coupon.expired_at = 'expired', ARGV[2]
redis.call('HSET', KEYS[1], ARGV[3], cjson.encode(coupon))
emit(KEYS[2], 'coupon_expired:' .. ARGV[3], 'coupon_expired', ARGV[1], ARGV[2],
     {template_id = coupon.template.id, code_tail = string.sub(ARGV[3], -4)})
return ok({expired = true, settled = true})
