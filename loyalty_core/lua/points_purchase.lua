--! uses _ledger
-- A purchase at the till: points at the member's current tier, spend into the tier window, an
-- immediate upgrade when a threshold is crossed (the crossing purchase still earns at the old tier).
-- KEYS[1..6] see _ledger.lua  KEYS[7] purchases hash  KEYS[8] spend-days hash
-- ARGV[1..3] see _ledger.lua  ARGV[4] txn_id  ARGV[5] fingerprint  ARGV[6] amount (fen)
-- ARGV[7] lot expiry (ms)  ARGV[8] lot expiry (iso)  ARGV[9] purchase day (yyyymmdd)
-- ARGV[10] window start day (yyyymmdd)  ARGV[11] year  ARGV[12] next review day (yyyymmdd)
-- ARGV[13] tiers JSON [{code, threshold (fen), reward, points (this purchase at that tier)}], lowest first
-- ARGV[14] details JSON {amount (text), occurred_at, category, store_id, promotion}
-- ARGV[15] upgrade grace period (ms): how long an upgrade stays revertible by a refund (0 = never)
local PURCHASES, SPEND = KEYS[7], KEYS[8]
local txn, fingerprint, amount = ARGV[4], ARGV[5], tonumber(ARGV[6])
local expires_ms, expires_iso, year = tonumber(ARGV[7]), ARGV[8], ARGV[11]

begin()
local prior = redis.call('HGET', PURCHASES, txn)
if prior then
  local done = cjson.decode(prior)
  if done.fp ~= fingerprint then return fail('txn_conflict') end
  return finish({answer = done.answer, replayed = true})
end

local tiers, details = cjson.decode(ARGV[13]), cjson.decode(ARGV[14])
expire_due()

local day, start = tonumber(ARGV[9]), tonumber(ARGV[10])
if day >= start then redis.call('HINCRBY', SPEND, ARGV[9], amount) end
local spend = window_spend(SPEND, start)

local current = tier_position(tiers, redis.call('HGET', ACCOUNT, 'tier'))
local points = tiers[current].points
local lot_id, repaid = credit(points, expires_ms, expires_iso, 'purchase', txn)
earned_in_year(year, points)
record('purchase', points, txn, {debt_repaid = repaid})
publish('points_earned:' .. MEMBER .. ':' .. txn, 'points_earned',
        {txn_id = txn, points = points, debt_repaid = repaid, balance = S.balance, tier = tiers[current].code,
         amount = details.amount, promotion = details.promotion, store_id = details.store_id,
         occurred_at = details.occurred_at})

if redis.call('HINCRBY', ACCOUNT, 'purchases', 1) == 1 then
  publish('first_purchase:' .. MEMBER, 'first_purchase',
          {txn_id = txn, amount = details.amount, occurred_at = details.occurred_at, store_id = details.store_id})
end

local reached = qualifying_position(tiers, spend)
if reached > current then
  local reward, rewards = 0, {}
  for i = current + 1, reached do
    if tiers[i].reward > 0 and redis.call('HSETNX', ACCOUNT, 'rewarded:' .. tiers[i].code, NOW_ISO) == 1 then
      reward = reward + tiers[i].reward
      rewards[#rewards + 1] = {tier = tiers[i].code, points = tiers[i].reward}
    end
  end
  local to, reward_lot = tiers[reached].code, ''
  if reward > 0 then
    reward_lot = credit(reward, expires_ms, expires_iso, 'tier_upgrade', to)
    earned_in_year(year, reward)
    record('grant', reward, 'tier_upgrade:' .. to, {source = 'tier_upgrade'})
  end
  remember_upgrade({at = NOW_MS, from = tiers[current].code, to = to, rewards = rewards, lot = reward_lot,
                    year = year, since_before = redis.call('HGET', ACCOUNT, 'tier_since') or '',
                    review_before = redis.call('HGET', ACCOUNT, 'review_on') or ''}, tonumber(ARGV[15]))
  redis.call('HSET', ACCOUNT, 'tier', to, 'tier_since', NOW_ISO, 'review_on', ARGV[12])
  publish('tier_upgraded:' .. MEMBER .. ':' .. txn, 'tier_upgraded',
          {from = tiers[current].code, to = to, spend_fen = spend, reward_points = reward, txn_id = txn})
  current = reached
end

local answer = {member_id = MEMBER, points_earned = points, balance = S.balance, tier = tiers[current].code}
redis.call('HSET', PURCHASES, txn, cjson.encode({fp = fingerprint, amount = amount, points = points, lot = lot_id,
  day = day, year = year, refunded = 0, clawed = 0, at = NOW_ISO, store = details.store_id, cat = details.category, answer = answer}))
return finish({answer = answer, replayed = false})
