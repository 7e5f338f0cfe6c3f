-- The member answered: the question about this purchase is closed (not a later one).
-- KEYS[1] the member's survey hash  ARGV[1] txn_id
if redis.call('HGET', KEYS[1], 'txn_id') ~= ARGV[1] then return ok({closed = false}) end
redis.call('DEL', KEYS[1])
return ok({closed = true})
