--! uses _ledger
-- Settle, for good, whether an abandoned redemption's points were spent (the redemption sweeper).
-- Spent: say so, and the caller completes the redemption. Not spent: write a void marker under the
-- spend's own op key, so a late spend of this redemption id is refused (points_spend.lua answers
-- redemption_conflict) instead of taking points for a redemption that was already released.
-- KEYS[1..6] see _ledger.lua   ARGV[1..3] see _ledger.lua  ARGV[4] redemption_id
local op = 'spend:' .. ARGV[4]

begin()
local prior = redis.call('HGET', OPS, op)
if prior then
  local done = cjson.decode(prior)
  return finish({answer = {spent = not done.void, points = done.answer.points}, replayed = true})
end
redis.call('HSET', OPS, op, cjson.encode({void = true, answer = {points = 0, voided_at = NOW_ISO}}))
return finish({answer = {spent = false, points = 0}, replayed = false})
