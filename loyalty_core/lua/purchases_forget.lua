-- Forget a member's purchases from before a day, keeping what the member's facts need of them as a summary in
-- the points account: the first and last day of those not wholly refunded, the count and the spend (amount less
-- refunds). Idempotent.
-- The scan is skipped while the oldest purchase the last scan kept is not before the cutoff (a backdated
-- purchase older than that one is then forgotten a little later, never early).
-- KEYS[1] purchases hash  KEYS[2] points account   ARGV[1] cutoff day (yyyymmdd: purchases before it go)
local cutoff = tonumber(ARGV[1])
local kept_from = tonumber(redis.call('HGET', KEYS[2], 'purchases_kept_from') or '0')
if kept_from >= cutoff then return ok({forgotten = 0}) end

local forgotten, spend, first, last, oldest_kept = {}, 0, nil, nil, nil
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local purchase = cjson.decode(all[i + 1])
  local day = tonumber(purchase.day)
  if day < cutoff then
    forgotten[#forgotten + 1] = all[i]
    local net = purchase.amount - (purchase.refunded or 0)
    spend = spend + net
    if net > 0 and (not first or day < first) then first = day end
    if net > 0 and (not last or day > last) then last = day end
  elseif not oldest_kept or day < oldest_kept then
    oldest_kept = day
  end
end

if #forgotten > 0 then
  redis.call('HDEL', KEYS[1], unpack(forgotten))
  local before = redis.call('HMGET', KEYS[2], 'earlier_first', 'earlier_last')
  if before[1] and (not first or tonumber(before[1]) < first) then first = tonumber(before[1]) end
  if before[2] and (not last or tonumber(before[2]) > last) then last = tonumber(before[2]) end
  if first then redis.call('HSET', KEYS[2], 'earlier_first', first, 'earlier_last', last) end
  redis.call('HINCRBY', KEYS[2], 'earlier_count', #forgotten)
  redis.call('HINCRBY', KEYS[2], 'earlier_spend', spend)
end
if oldest_kept then
  redis.call('HSET', KEYS[2], 'purchases_kept_from', oldest_kept)
else
  redis.call('HDEL', KEYS[2], 'purchases_kept_from')
end
return ok({forgotten = #forgotten})
