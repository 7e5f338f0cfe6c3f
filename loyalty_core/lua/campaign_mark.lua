-- Count something of a campaign once: a mark (e.g. "planned:<member>", "buy:<txn_id>") the first time only.
-- KEYS[1] marks hash  KEYS[2] counts hash
-- ARGV[1] mark  ARGV[2..] count field, increment pairs
if redis.call('HSETNX', KEYS[1], ARGV[1], 1) == 0 then
  return ok({counted = false})
end
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end
return ok({counted = true})
