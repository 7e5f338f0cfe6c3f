-- A customer scanned a walk-in receipt's join code: the first scanner within the window holds the sale.
-- KEYS[1] the sale hash   ARGV[1] member_id  ARGV[2] now (epoch ms)  ARGV[3] now (iso)  ARGV[4] join until (ms)
-- The same member again gets the sale again (replayed), so that a join cut short can be finished.
if redis.call('EXISTS', KEYS[1]) == 0 then return fail('unknown_txn') end
local holder = redis.call('HGET', KEYS[1], 'member_id')
local replayed = false
if holder and holder ~= '' then
  if holder ~= ARGV[1] then return fail('already_joined') end
  replayed = true
elseif tonumber(ARGV[2]) > tonumber(ARGV[4]) then
  return fail('join_expired')
else
  redis.call('HSET', KEYS[1], 'member_id', ARGV[1], 'joined_at', ARGV[3])
end
local kept = redis.call('HGETALL', KEYS[1])
local sale = {}
for i = 1, #kept, 2 do sale[kept[i]] = kept[i + 1] end
return ok({sale = sale, replayed = replayed})
