-- The refund window is over: release the pending reward, or cancel it for the reason found before
-- the script (no_phone, phone_reused). Once: a released or cancelled reward answers its status again.
-- KEYS[1] referee hash  KEYS[2] outbox (the referee's)
-- ARGV[1] referee member_id  ARGV[2] now (iso)  ARGV[3] now (epoch ms)  ARGV[4] reason to cancel ('' = none)
local status = redis.call('HGET', KEYS[1], 'status')
local referrer = redis.call('HGET', KEYS[1], 'referrer') or ''
if status ~= 'pending' then
  return ok({status = status or '', referrer = referrer, reason = redis.call('HGET', KEYS[1], 'reason') or '',
             replayed = true})
end
if tonumber(ARGV[3]) < tonumber(redis.call('HGET', KEYS[1], 'due_ms')) then
  return ok({status = 'pending', referrer = referrer, early = true})
end
local txn = redis.call('HGET', KEYS[1], 'txn')
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'reason', ARGV[4], 'settled_at', ARGV[2])
  emit(KEYS[2], 'referral_reward_cancelled:' .. ARGV[1], 'referral_reward_cancelled', ARGV[1], ARGV[2],
       {referrer_id = referrer, txn_id = txn, reason = ARGV[4]})
  return ok({status = 'cancelled', referrer = referrer, reason = ARGV[4], replayed = false})
end
redis.call('HSET', KEYS[1], 'status', 'released', 'settled_at', ARGV[2])
emit(KEYS[2], 'referral_reward_released:' .. ARGV[1], 'referral_reward_released', ARGV[1], ARGV[2],
     {referrer_id = referrer, txn_id = txn})
return ok({status = 'released', referrer = referrer, reason = '', replayed = false})
