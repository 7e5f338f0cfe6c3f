-- The question now open to the member (the latest asked replaces an earlier one).
-- KEYS[1] the member's survey hash
-- ARGV[1] txn_id  ARGV[2] store_id  ARGV[3] asked at (iso)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'txn_id', ARGV[1], 'store_id', ARGV[2], 'asked_at', ARGV[3])
return ok({})
