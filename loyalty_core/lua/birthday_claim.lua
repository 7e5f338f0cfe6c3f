-- Claim the birthday gift of one cycle (year), once: of concurrent claims the first wins and the others
-- get its answer (replayed = true).
-- KEYS[1] birthday hash  KEYS[2] outbox
-- ARGV[1] member_id  ARGV[2] now (iso)  ARGV[3] cycle  ARGV[4] the gift record (JSON)
local field = 'claimed:' .. ARGV[3]
local prior = redis.call('HGET', KEYS[1], field)
if prior then return ok({gift = prior, replayed = true}) end
if redis.call('HEXISTS', KEYS[1], 'enc') == 0 then return fail('no_birthday') end

redis.call('HSET', KEYS[1], field, ARGV[4])
local gift = cjson.decode(ARGV[4])
emit(KEYS[2], 'birthday_gift:' .. ARGV[1] .. ':' .. ARGV[3], 'birthday_gift_claimed', ARGV[1], ARGV[2],
     {cycle = tonumber(ARGV[3]), kind = gift.kind, title = gift.title, points = gift.points,
      voucher_code_tail = string.sub(gift.voucher_code, -4), template = gift.template})  -- the code grants a gift
return ok({gift = ARGV[4], replayed = false})
