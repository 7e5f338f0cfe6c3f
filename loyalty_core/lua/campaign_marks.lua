-- Count a batch of a campaign's things once each: `campaign_mark` for many marks, one count field each.
-- KEYS[1] marks hash  KEYS[2] counts hash
-- ARGV[1..] mark, count field pairs (each counted by 1 the first time its mark is seen)
local counted, added = {}, {}
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], 1) == 1 then
    added[ARGV[i + 1]] = (added[ARGV[i + 1]] or 0) + 1
    counted[#counted + 1] = true
  else
    counted[#counted + 1] = false
  end
end
for field, n in pairs(added) do redis.call('HINCRBY', KEYS[2], field, n) end   -- once per field
return ok({counted = counted})
