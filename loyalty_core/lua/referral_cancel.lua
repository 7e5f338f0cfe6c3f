-- A refund of the referee's first purchase inside the refund window cancels the pending reward. A
-- refund seen before the first purchase's own event is remembered, for referral_pending to find.
-- KEYS[1] referee hash  KEYS[2] outbox (the referee's)
-- ARGV[1] referee member_id  ARGV[2] now (iso)  ARGV[3] txn_id refunded  ARGV[4] refund time (epoch ms)
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'attributed' then
  redis.call('HSETNX', KEYS[1], 'refunded:' .. ARGV[3], ARGV[4])
  return ok({status = status, cancelled = false})
end
if status ~= 'pending' or redis.call('HGET', KEYS[1], 'txn') ~= ARGV[3] then
  return ok({status = status or '', cancelled = false})
end
if tonumber(ARGV[4]) >= tonumber(redis.call('HGET', KEYS[1], 'due_ms')) then
  return ok({status = status, cancelled = false, after_window = true})
end
local referrer = redis.call('HGET', KEYS[1], 'referrer')
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'reason', 'refunded', 'settled_at', ARGV[2])
emit(KEYS[2], 'referral_reward_cancelled:' .. ARGV[1], 'referral_reward_cancelled', ARGV[1], ARGV[2],
     {referrer_id = referrer, txn_id = ARGV[3], reason = 'refunded'})
return ok({status = 'cancelled', cancelled = true, referrer = referrer})
