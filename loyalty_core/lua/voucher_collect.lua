-- The service desk hands over a gift voucher: once. The same request again gets the first answer.
-- KEYS[1] the voucher (JSON {member_id, title, source, valid_until, …})
-- ARGV[1] desk_id  ARGV[2] staff_id  ARGV[3] request_id  ARGV[4] now (iso)  ARGV[5] today (iso date, the mall's)
local raw = redis.call('GET', KEYS[1])
if not raw then return fail('unknown_voucher') end
local voucher = cjson.decode(raw)
if voucher.collected_at then
  if voucher.request_id == ARGV[3] then return ok({voucher = voucher, replayed = true}) end
  return fail('already_used', {collected_at = voucher.collected_at})
end
if voucher.valid_until and voucher.valid_until ~= '' and ARGV[5] > voucher.valid_until then
  return fail('expired', {valid_until = voucher.valid_until})
end
voucher.collected_at, voucher.desk_id, voucher.staff_id, voucher.request_id = ARGV[4], ARGV[1], ARGV[2], ARGV[3]
redis.call('SET', KEYS[1], cjson.encode(voucher), 'KEEPTTL')
return ok({voucher = voucher, replayed = false})
