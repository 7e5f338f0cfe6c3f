--! uses _ledger
-- Warn once per lot about points that expire soon: one points_expiring_soon event for the live lots
-- expiring after the watermark and within the horizon; the watermark then moves to the horizon, so a lot
-- falls in exactly one warning of each kind (new lots always expire beyond any horizon already warned).
-- The first warning (`warned_until`, points.expiry_warning_days ahead) and the last reminder
-- (`reminded_until`, points.expiry_reminder_days ahead) keep watermarks of their own.
-- KEYS[1..6], ARGV[1..3] see _ledger.lua   ARGV[4] horizon (epoch ms)  ARGV[5] watermark field
-- ARGV[6] days ahead (for the event)
begin()
local mark = ARGV[5]
local from = math.max(num(redis.call('HGET', ACCOUNT, mark)), NOW_MS)
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
  redis.call('HSET', ACCOUNT, mark, horizon)
  S.changed = true
end
if total > 0 then
  local prefix = mark == 'warned_until' and 'points_expiring_soon:' or 'points_expiry_reminder:'
  publish(prefix .. MEMBER .. ':' .. lots[1].lot_id, 'points_expiring_soon',
          {points = total, lots = lots, expires_on = lots[1].expires_on, days = tonumber(ARGV[6]),
           balance = S.balance, last_reminder = mark ~= 'warned_until'})
end
return finish({answer = {member_id = MEMBER, warned_points = total, warned_lots = #lots}})
