--! uses _ledger
-- Warn once per lot about points that expire soon: one points_expiring_soon event for the live lots
-- expiring after `warned_until` and within the horizon; `warned_until` then moves to the horizon, so a
-- lot falls in exactly one warning (new lots always expire beyond any horizon already warned).
-- KEYS[1..6], ARGV[1..3] see _ledger.lua   ARGV[4] horizon (epoch ms)
begin()
local from = math.max(num(redis.call('HGET', ACCOUNT, 'warned_until')), NOW_MS)
local horizon = tonumber(ARGV[4])
local lots, total = {}, 0
if horizon > from then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', LOTS, '(' .. from, horizon)) do
    local raw = redis.call('HGET', LOT_DATA, id)
    if raw then
      local lot = cjson.decode(raw)
      total = total + lot.remaining
      lots[#lots + 1] = {lot_id = id, points = lot.remaining, expires_on = lot.expires_on}
    end
  end
  redis.call('HSET', ACCOUNT, 'warned_until', horizon)
  S.changed = true
end
if total > 0 then
  publish('points_expiring_soon:' .. MEMBER .. ':' .. lots[1].lot_id, 'points_expiring_soon',
          {points = total, lots = lots, expires_on = lots[1].expires_on})
end
return finish({answer = {member_id = MEMBER, warned_points = total, warned_lots = #lots}})
