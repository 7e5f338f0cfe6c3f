-- A refund takes its amount off a campaign's spend, once per refund, and only from a purchase the campaign counted.
-- KEYS[1] marks hash  KEYS[2] counts hash
-- ARGV[1] the purchase's mark ("buy:<txn_id>")  ARGV[2] the refund's mark ("refund:<refund_id>")  ARGV[3] field
-- ARGV[4] fen refunded
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return ok({counted = false})
end
if redis.call('HSETNX', KEYS[1], ARGV[2], 1) == 0 then
  return ok({counted = false})
end
redis.call('HINCRBY', KEYS[2], ARGV[3], -tonumber(ARGV[4]))
return ok({counted = true})
