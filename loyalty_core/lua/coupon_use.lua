-- A till uses a coupon for a transaction: once; the same txn_id again gets the first answer.
-- KEYS[1] coupons hash  KEYS[2] outbox
-- ARGV[1] member_id  ARGV[2] now (iso)  ARGV[3] code  ARGV[4] txn_id  ARGV[5] answer JSON  ARGV[6] now (ms)
local raw = redis.call('HGET', KEYS[1], ARGV[3])
if not raw then return fail('unknown_coupon') end
local coupon = cjson.decode(raw)
if coupon.status == 'used' then
  if coupon.used_txn == ARGV[4] then return ok({answer = coupon.used_answer, replayed = true}) end
  return fail('already_used')
end
if coupon.status ~= 'issued' then return fail(coupon.status) end
if tonumber(ARGV[6]) >= coupon.expires_ms then return fail('expired') end
-- the answer is kept as the JSON text the service made, so a replay returns it byte for byte
local answer = cjson.decode(ARGV[5])
coupon.status, coupon.used_txn, coupon.used_at, coupon.used_answer = 'used', ARGV[4], ARGV[2], ARGV[5]
redis.call('HSET', KEYS[1], ARGV[3], cjson.encode(coupon))
emit(KEYS[2], 'coupon_used:' .. ARGV[3], 'coupon_used', ARGV[1], ARGV[2],
     {template_id = coupon.template.id, kind = coupon.template.kind, txn_id = ARGV[4],
      discount = answer.discount, code_tail = string.sub(ARGV[3], -4), source = coupon.source or ''})
return ok({answer = ARGV[5], replayed = false})
