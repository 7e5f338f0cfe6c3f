-- What a redemption gave the member (a coupon, a voucher, a prize or nothing), once per redemption id,
-- with the reward_redeemed event. A repeat keeps the first outcome.
-- KEYS[1] redemptions hash  KEYS[2] outbox
-- ARGV[1] member_id  ARGV[2] now (iso)  ARGV[3] redemption_id  ARGV[4] outcome JSON  ARGV[5] event data JSON
local prior = redis.call('HGET', KEYS[1], ARGV[3])
if prior then return ok({outcome = cjson.decode(prior), replayed = true}) end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
emit(KEYS[2], 'reward_redeemed:' .. ARGV[3], 'reward_redeemed', ARGV[1], ARGV[2], cjson.decode(ARGV[5]))
return ok({outcome = cjson.decode(ARGV[4]), replayed = false})
