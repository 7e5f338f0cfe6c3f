-- The follower's coupons still to use leave their wallet for the imported member's, once: the coupons taken
-- are kept in the fold record, so a fold resumed after a crash moves exactly these.
-- KEYS[1] follower's coupons  KEYS[2] their coupon counts  KEYS[3] their coupon ops  KEYS[4] their fold record
-- ARGV[1] follower member_id
local kept = redis.call('HGET', KEYS[4], 'coupons')
if kept then return ok({coupons = kept}) end
local issue_keys = {}
local ops = redis.call('HGETALL', KEYS[3])
for i = 1, #ops, 2 do
  local code = ops[i + 1]
  issue_keys[code] = issue_keys[code] or {}
  table.insert(issue_keys[code], string.sub(ops[i], 7))      -- 'issue:<issue key>'
end
local moving = {}
local held = redis.call('HGETALL', KEYS[1])
for i = 1, #held, 2 do
  local coupon = cjson.decode(held[i + 1])
  if coupon.status == 'issued' then
    table.insert(moving, {code = held[i], coupon = held[i + 1], issue_keys = issue_keys[held[i]] or {}})
    redis.call('HDEL', KEYS[1], held[i])
    redis.call('HINCRBY', KEYS[2], coupon.template.id, -1)
  end
end
local encoded = #moving > 0 and cjson.encode(moving) or '[]'
redis.call('HSET', KEYS[4], 'coupons', encoded)
return ok({coupons = encoded})
