--! uses _ledger
-- Give back the points of a spend: once per redemption.
-- Mode 'fresh' (a catalogue reward that could not be issued): the points come back as one new lot with the
-- expiry the caller gives (a fresh lot lifetime: the member never loses time on them).
-- Mode 'original' (points that paid at a till, for a sale cancelled or refunded): the points go back into the
-- lots they were drawn from, with those lots' own expiry; any that are past it expire at once, as they would
-- have had they never been spent. An outstanding debt is paid first, from the oldest lots.
-- Either way the spent total goes down by as much, so balance + spent is unchanged.
-- KEYS[1..6] see _ledger.lua   ARGV[1..3] see _ledger.lua  ARGV[4] redemption_id
-- ARGV[5] lot expiry (ms)  ARGV[6] lot expiry (iso date)  ARGV[7] mode: fresh (default) | original
-- ARGV[8] (optional) why, kept in the history entry
local op, redemption = 'unspend:' .. ARGV[4], ARGV[4]

begin()
local prior = redis.call('HGET', OPS, op)
if prior then return finish({answer = cjson.decode(prior).answer, replayed = true}) end
local spent = redis.call('HGET', OPS, 'spend:' .. redemption)
if not spent or cjson.decode(spent).void then return fail('not_spent') end
local spend = cjson.decode(spent)
local points = spend.answer.points

expire_due()
local repaid
if ARGV[7] == 'original' and spend.lots then
  restore_lots(spend.lots)
  expire_due()
  repaid = math.min(S.debt, S.balance)
  if repaid > 0 then
    S.debt = S.debt - take(repaid, nil)
  end
else
  local _
  _, repaid = credit(points, tonumber(ARGV[5]), ARGV[6], 'reversal', redemption)
end
redis.call('HINCRBY', ACCOUNT, 'spent_total', -points)
record('reversal', points, redemption, {debt_repaid = repaid, source = spend.answer.channel, reason = ARGV[8]})
local answer = {member_id = MEMBER, redemption_id = redemption, points = points, balance = S.balance,
                channel = spend.answer.channel, txn_id = spend.answer.txn_id}
publish('points_restored:' .. MEMBER .. ':' .. redemption, 'points_restored', answer)
redis.call('HSET', OPS, op, cjson.encode({answer = answer}))
return finish({answer = answer, replayed = false})
