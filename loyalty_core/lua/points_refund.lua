--! uses _ledger
-- A refund of (part of) a purchase: take back the purchase's points in proportion to the amount
-- refunded so far (cumulative, so several partial refunds never drift by rounding); what the balance
-- cannot cover becomes debt. The purchase's spend leaves the tier window; tiers only drop at review,
-- except an upgrade inside its grace period that the refund undoes (revert_upgrades in _ledger.lua).
-- KEYS[1..6] see _ledger.lua  KEYS[7] purchases hash  KEYS[8] spend-days hash
-- ARGV[1..3] see _ledger.lua  ARGV[4] refund_id  ARGV[5] txn_id  ARGV[6] amount (fen)
-- ARGV[7] fingerprint  ARGV[8] window start day (yyyymmdd)  ARGV[9] amount (text)
-- ARGV[10] tiers JSON [{code, threshold (fen)}], lowest first  ARGV[11] upgrade grace period (ms)
local PURCHASES, SPEND = KEYS[7], KEYS[8]
local refund_id, txn, amount, fingerprint = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local op = 'refund:' .. refund_id

begin()
local prior = redis.call('HGET', OPS, op)
if prior then
  local done = cjson.decode(prior)
  if done.fp ~= fingerprint then return fail('refund_conflict') end
  return finish({answer = done.answer, replayed = true, other_years = done.years or {done.year}})
end
local raw = redis.call('HGET', PURCHASES, txn)
if not raw then return fail('unknown_txn') end
local purchase = cjson.decode(raw)
local refunded = purchase.refunded + amount
if refunded > purchase.amount then
  return fail('refund_exceeds_purchase', {refundable_fen = purchase.amount - purchase.refunded})
end

expire_due()
local target = mul_div_floor(purchase.points, refunded, purchase.amount)   -- clawback_target in points.py
local clawback = target - purchase.clawed
local taken = take(clawback, purchase.lot)
S.debt = S.debt + clawback - taken

local day = tostring(purchase.day)
if purchase.day >= tonumber(ARGV[8]) and redis.call('HEXISTS', SPEND, day) == 1 then
  if redis.call('HINCRBY', SPEND, day, -amount) <= 0 then redis.call('HDEL', SPEND, day) end
end
earned_in_year(purchase.year, -clawback)
purchase.refunded, purchase.clawed = refunded, target
redis.call('HSET', PURCHASES, txn, cjson.encode(purchase))
record('refund', -clawback, refund_id, {txn_id = txn, debt_added = clawback - taken})
publish('purchase_refunded:' .. MEMBER .. ':' .. refund_id, 'purchase_refunded',
        {refund_id = refund_id, txn_id = txn, amount = ARGV[9], purchase_day = day, points_reversed = clawback,
         debt_added = clawback - taken, fully_refunded = refunded == purchase.amount, balance = S.balance,
         debt = S.debt})

local debt_before = S.debt
local reverted = revert_upgrades(cjson.decode(ARGV[10]), window_spend(SPEND, tonumber(ARGV[8])), tonumber(ARGV[11]))
if reverted.to ~= reverted.from then
  if reverted.taken > 0 then
    record('tier_reverted', -reverted.taken, refund_id, {txn_id = txn, debt_added = S.debt - debt_before})
  end
  publish('tier_reverted:' .. MEMBER .. ':' .. refund_id, 'tier_reverted',
          {from = reverted.from, to = reverted.to, reward_points_taken = reverted.taken,
           debt_added = S.debt - debt_before, refund_id = refund_id, txn_id = txn})
end

local years = {purchase.year}
for _, year in ipairs(reverted.years) do years[#years + 1] = year end
local answer = {member_id = MEMBER, refund_id = refund_id, txn_id = txn, points_reversed = clawback,
                balance = S.balance, debt = S.debt,
                tier = redis.call('HGET', ACCOUNT, 'tier') or ''}
redis.call('HSET', OPS, op, cjson.encode({fp = fingerprint, year = purchase.year, years = years, answer = answer}))
return finish({answer = answer, replayed = false, other_years = years})
