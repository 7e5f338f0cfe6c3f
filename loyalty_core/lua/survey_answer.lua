-- A member's answer about one purchase, once, into the store's results.
-- KEYS[1] the store's answers  ARGV[1] txn_id  ARGV[2] the answer (JSON)  ARGV[3] score
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return ok({replayed = true}) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[1], '_count', 1)
redis.call('HINCRBY', KEYS[1], '_sum', tonumber(ARGV[3]))
return ok({replayed = false})
