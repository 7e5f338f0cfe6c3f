-- Take one coupon from a template's total issue limit, once per claim (a member and an issue key).
-- KEYS[1] the template's issued hash ("count", "k:<claim>")   ARGV[1] claim  ARGV[2] limit
local claim = 'k:' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], claim) == 1 then return ok({replayed = true}) end
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if count >= tonumber(ARGV[2]) then return fail('issue_limit_reached', {count = count}) end
redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], claim, 1)
return ok({replayed = false, count = count + 1})
