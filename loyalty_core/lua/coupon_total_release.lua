-- Give back a claim (a member and an issue key) on a template's total limit (its member step refused the coupon).
-- KEYS[1] the template's issued hash   ARGV[1] claim
if redis.call('HDEL', KEYS[1], 'k:' .. ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'count', -1)
  return ok({released = true})
end
return ok({released = false})
