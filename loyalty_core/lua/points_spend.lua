--! uses _ledger
-- Spend points (a catalogue redemption, or points paying at a till): oldest expiry first, all or nothing,
-- once per redemption id. The lots drawn from are kept with the answer, so that a reversal can put the
-- points back where they came from (points_spend_reverse.lua).
-- KEYS[1..6] see _ledger.lua   ARGV[1..3] see _ledger.lua  ARGV[4] redemption_id  ARGV[5] points
-- ARGV[6] (optional) what the points pay for, JSON {channel, txn_id, store_id, cash_value}: its answer carries
--         it, and a points_spent event tells the member
local op, points = 'spend:' .. ARGV[4], tonumber(ARGV[5])
local paying = ARGV[6] and ARGV[6] ~= '' and cjson.decode(ARGV[6]) or nil

begin()
local prior = redis.call('HGET', OPS, op)
if prior then
  local done = cjson.decode(prior)
  if done.void then return fail('redemption_lapsed') end   -- the sweeper settled this redemption as abandoned
  if done.answer.points ~= points then return fail('redemption_conflict') end
  return finish({answer = done.answer, replayed = true})
end
local available = S.balance - due_points()
if available < points then
  return fail('insufficient_points', {available = available})
end

expire_due()
local drawn = {}
take(points, nil, drawn)
redis.call('HINCRBY', ACCOUNT, 'spent_total', points)
record('spend', -points, ARGV[4], paying and {source = paying.channel} or nil)
local answer = {member_id = MEMBER, redemption_id = ARGV[4], points = points, balance = S.balance}
if paying then
  for k, v in pairs(paying) do answer[k] = v end
  publish('points_spent:' .. MEMBER .. ':' .. ARGV[4], 'points_spent', answer)
end
redis.call('HSET', OPS, op, cjson.encode({answer = answer, lots = drawn}))
return finish({answer = answer, replayed = false})
