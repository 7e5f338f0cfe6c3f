-- A member's draw of the member-day lottery, once per member and member day: the prize the ticket wins
-- (member_day.prize_for), its stock for the day taken in the same step. A second draw answers the first.
-- KEYS[1] the day's draws hash (member_id -> prize index, -1 = none)  KEYS[2] the day's stock used (index -> n)
-- ARGV[1] member_id  ARGV[2] prizes JSON [{weight, prize, stock (-1 = unlimited)}]  ARGV[3] ticket
-- ARGV[4] keep (seconds)
local prior = redis.call('HGET', KEYS[1], ARGV[1])
if prior then return ok({index = tonumber(prior), first = false}) end

local ticket, won = tonumber(ARGV[3]), -1
for i, prize in ipairs(cjson.decode(ARGV[2])) do
  if ticket < prize.weight then
    local used = tonumber(redis.call('HGET', KEYS[2], tostring(i - 1)) or '0')
    if prize.prize and (prize.stock < 0 or used < prize.stock) then won = i - 1 end
    break
  end
  ticket = ticket - prize.weight
end
if won >= 0 then redis.call('HINCRBY', KEYS[2], tostring(won), 1) end
redis.call('HSET', KEYS[1], ARGV[1], won)
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return ok({index = won, first = true})
