--! uses _ledger
-- Spend points (a redemption): oldest expiry first, all or nothing, once per redemption id.
-- KEYS[1..6] see _ledger.lua   ARGV[1..3] see _ledger.lua  ARGV[4] redemption_id  ARGV[5] points
local op, points = 'spend:' .. ARGV[4], tonumber(ARGV[5])

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
take(points, nil)
redis.call('HINCRBY', ACCOUNT, 'spent_total', points)
record('spend', -points, ARGV[4])
local answer = {member_id = MEMBER, redemption_id = ARGV[4], points = points, balance = S.balance}
redis.call('HSET', OPS, op, cjson.encode({answer = answer}))
return finish({answer = answer, replayed = false})
