-- Forget a member's coupons that ended (used, expired or revoked) and whose validity ended before the cutoff;
-- a coupon still issued, or valid since, is kept. Answers the codes forgotten, whose code index the caller
-- then releases. The per-template counts and the issue keys stay: limits and retried issues still hold.
-- KEYS[1] coupons hash   ARGV[1] cutoff (epoch ms)   ARGV[2..] codes
local cutoff, forgotten = tonumber(ARGV[1]), {}
for i = 2, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local coupon = cjson.decode(raw)
    if coupon.status ~= 'issued' and tonumber(coupon.expires_ms) < cutoff then
      redis.call('HDEL', KEYS[1], ARGV[i])
      forgotten[#forgotten + 1] = ARGV[i]
    end
  end
end
return ok({forgotten = forgotten})
