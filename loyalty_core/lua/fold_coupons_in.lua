-- The coupons a folded follower held, into the imported member's wallet, each once (by its code); an issue key
-- naming the follower (the welcome gift's `welcome:<member_id>`) is kept under the member's own, so that the
-- follower's welcome gift is the member's and no second one is given.
-- KEYS[1] member's coupons  KEYS[2] their coupon counts  KEYS[3] their coupon ops
-- ARGV[1] member_id  ARGV[2] follower member_id  ARGV[3] the coupons JSON (fold_coupons_out)
local moved = 0
for _, item in ipairs(cjson.decode(ARGV[3])) do
  if redis.call('HEXISTS', KEYS[1], item.code) == 0 then
    local coupon = cjson.decode(item.coupon)
    coupon.member_id = ARGV[1]
    redis.call('HSET', KEYS[1], item.code, cjson.encode(coupon))
    redis.call('HINCRBY', KEYS[2], coupon.template.id, 1)
    for _, issue_key in ipairs(item.issue_keys) do
      if issue_key == 'welcome:' .. ARGV[2] then issue_key = 'welcome:' .. ARGV[1] end
      redis.call('HSETNX', KEYS[3], 'issue:' .. issue_key, item.code)
    end
    moved = moved + 1
  end
end
return ok({moved = moved})
