-- Count a batch of a campaign's things once each: `campaign_mark` for many marks, each counting 1 in one or more
-- count fields.
-- KEYS[1] marks hash  KEYS[2] counts hash
-- ARGV[1..] mark, count fields pairs (the fields joined by ','; each counted by 1 the first time its mark is seen)
local counted, added = {}, {}
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], 1) == 1 then
    for field in string.gmatch(ARGV[i + 1], '[^,]+') do added[field] = (added[field] or 0) + 1 end
    counted[#counted + 1] = true
  else
    counted[#counted + 1] = false
  end
end
for field, n in pairs(added) do redis.call('HINCRBY', KEYS[2], field, n) end   -- once per field
return ok({counted = counted})
