-- The refund window is over: release the pending reward, or cancel it for the reason found before the
-- script (no_phone, phone_reused). A referee who no longer follows the account holds the reward: it waits
-- until ARGV[6] for them to follow again (released then), and is cancelled (referee_unfollowed) after.
-- Once: a released or cancelled reward answers its status again.
-- KEYS[1] referee hash  KEYS[2] outbox (the referee's)
-- ARGV[1] referee member_id  ARGV[2] now (iso)  ARGV[3] now (epoch ms)  ARGV[4] reason to cancel ('' = none)
-- ARGV[5] '1' if the referee follows the account now  ARGV[6] end of a new hold (epoch ms)
local status = redis.call('HGET', KEYS[1], 'status')
local referrer = redis.call('HGET', KEYS[1], 'referrer') or ''
local now = tonumber(ARGV[3])
if status ~= 'pending' and status ~= 'held' then
  return ok({status = status or '', referrer = referrer, reason = redis.call('HGET', KEYS[1], 'reason') or '',
             replayed = true})
end
if status == 'pending' and now < tonumber(redis.call('HGET', KEYS[1], 'due_ms')) then
  return ok({status = 'pending', referrer = referrer, early = true})
end
local txn = redis.call('HGET', KEYS[1], 'txn')

local function cancel(reason)
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'reason', reason, 'settled_at', ARGV[2])
  emit(KEYS[2], 'referral_reward_cancelled:' .. ARGV[1], 'referral_reward_cancelled', ARGV[1], ARGV[2],
       {referrer_id = referrer, txn_id = txn, reason = reason})
  return ok({status = 'cancelled', referrer = referrer, reason = reason, replayed = false})
end

if ARGV[4] ~= '' then return cancel(ARGV[4]) end
if ARGV[5] ~= '1' then
  if status == 'held' then
    local until_ms = tonumber(redis.call('HGET', KEYS[1], 'hold_until_ms'))
    if now >= until_ms then return cancel('referee_unfollowed') end
    return ok({status = 'held', referrer = referrer, hold_until_ms = until_ms, early = true})
  end
  redis.call('HSET', KEYS[1], 'status', 'held', 'held_at', ARGV[2], 'hold_until_ms', ARGV[6])
  emit(KEYS[2], 'referral_reward_held:' .. ARGV[1], 'referral_reward_held', ARGV[1], ARGV[2],
       {referrer_id = referrer, txn_id = txn, hold_until_ms = tonumber(ARGV[6])})
  return ok({status = 'held', referrer = referrer, hold_until_ms = tonumber(ARGV[6]), replayed = false})
end
redis.call('HSET', KEYS[1], 'status', 'released', 'settled_at', ARGV[2])
emit(KEYS[2], 'referral_reward_released:' .. ARGV[1], 'referral_reward_released', ARGV[1], ARGV[2],
     {referrer_id = referrer, txn_id = txn})
return ok({status = 'released', referrer = referrer, reason = '', replayed = false})
