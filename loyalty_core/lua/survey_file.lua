-- File the member's latest purchase for its survey (a later purchase replaces an earlier one).
-- KEYS[1] due zset  KEYS[2] filed hash
-- ARGV[1] member_id  ARGV[2] the purchase (JSON {txn_id, store_id})  ARGV[3] due (epoch ms)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return ok({})
