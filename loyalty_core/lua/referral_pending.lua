-- The referee's first purchase: the reward waits for the refund window (or is cancelled at once when
-- the referrer's monthly cap is reached, or the purchase was already refunded inside the window). Once
-- per referee.
-- KEYS[1] referee hash  KEYS[2] outbox (the referee's)
-- ARGV[1] referee member_id  ARGV[2] now (iso)  ARGV[3] txn_id  ARGV[4] due (epoch ms)  ARGV[5] due (iso)
-- ARGV[6] 1 = a place under the cap was reserved, 0 = the cap was reached  ARGV[7] purchase time (iso)
local status = redis.call('HGET', KEYS[1], 'status')
local referrer = redis.call('HGET', KEYS[1], 'referrer')
if status ~= 'attributed' then
  return ok({status = status or '', reason = redis.call('HGET', KEYS[1], 'reason') or '', referrer = referrer,
             replayed = true})
end

local refunded_ms = redis.call('HGET', KEYS[1], 'refunded:' .. ARGV[3])   -- a refund seen before this event
local reason = ''
if ARGV[6] == '0' then reason = 'monthly_cap'
elseif refunded_ms and tonumber(refunded_ms) < tonumber(ARGV[4]) then reason = 'refunded' end
redis.call('HSET', KEYS[1], 'txn', ARGV[3], 'purchased_at', ARGV[7])
if reason ~= '' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'reason', reason, 'settled_at', ARGV[2])
  emit(KEYS[2], 'referral_reward_cancelled:' .. ARGV[1], 'referral_reward_cancelled', ARGV[1], ARGV[2],
       {referrer_id = referrer, txn_id = ARGV[3], reason = reason})
  return ok({status = 'cancelled', reason = reason, referrer = referrer, replayed = false})
end
redis.call('HSET', KEYS[1], 'status', 'pending', 'due_ms', ARGV[4], 'due_at', ARGV[5])
emit(KEYS[2], 'referral_reward_pending:' .. ARGV[1], 'referral_reward_pending', ARGV[1], ARGV[2],
     {referrer_id = referrer, txn_id = ARGV[3], due_at = ARGV[5]})
return ok({status = 'pending', referrer = referrer, replayed = false})
