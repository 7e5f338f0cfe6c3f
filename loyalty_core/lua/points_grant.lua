--! uses _ledger
-- Bonus points (upgrade rewards, birthday gifts, referral rewards…): once per reference.
-- KEYS[1..6] see _ledger.lua
-- ARGV[1..3] see _ledger.lua  ARGV[4] ref  ARGV[5] points  ARGV[6] source  ARGV[7] lot expiry (ms)
-- ARGV[8] lot expiry (iso)  ARGV[9] year
local op, points, source, year = 'grant:' .. ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[9]

begin()
local prior = redis.call('HGET', OPS, op)
if prior then
  local done = cjson.decode(prior)
  if done.answer.points ~= points or done.answer.source ~= source then return fail('grant_conflict') end
  return finish({answer = done.answer, replayed = true})
end

expire_due()
local _, repaid = credit(points, tonumber(ARGV[7]), ARGV[8], source, ARGV[4])
earned_in_year(year, points)
record('grant', points, ARGV[4], {source = source, debt_repaid = repaid})
local answer = {member_id = MEMBER, ref = ARGV[4], source = source, points = points, balance = S.balance}
redis.call('HSET', OPS, op, cjson.encode({answer = answer}))
return finish({answer = answer, replayed = false})
