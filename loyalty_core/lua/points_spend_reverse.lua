--! uses _ledger
-- Give back the points of a redemption's spend whose reward could not be issued: once per redemption.
-- The spend does not record which lots it drew from, so the points come back as one new lot with
-- the expiry the caller gives (a fresh lot lifetime: the member never loses time on them). The spent
-- total goes down by as much, so balance + spent is unchanged; an outstanding debt is paid first.
-- KEYS[1..6] see _ledger.lua   ARGV[1..3] see _ledger.lua  ARGV[4] redemption_id
-- ARGV[5] lot expiry (ms)  ARGV[6] lot expiry (iso date)
local op, redemption = 'unspend:' .. ARGV[4], ARGV[4]

begin()
local prior = redis.call('HGET', OPS, op)
if prior then return finish({answer = cjson.decode(prior).answer, replayed = true}) end
local spent = redis.call('HGET', OPS, 'spend:' .. redemption)
if not spent or cjson.decode(spent).void then return fail('not_spent') end
local points = cjson.decode(spent).answer.points

expire_due()
local _, repaid = credit(points, tonumber(ARGV[5]), ARGV[6], 'reversal', redemption)
redis.call('HINCRBY', ACCOUNT, 'spent_total', -points)
record('reversal', points, redemption, {debt_repaid = repaid})
publish('points_restored:' .. MEMBER .. ':' .. redemption, 'points_restored',
        {redemption_id = redemption, points = points, balance = S.balance})
local answer = {member_id = MEMBER, redemption_id = redemption, points = points, balance = S.balance}
redis.call('HSET', OPS, op, cjson.encode({answer = answer}))
return finish({answer = answer, replayed = false})
