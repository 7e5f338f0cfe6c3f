-- A new API key, unless its id is taken.
-- KEYS[1] key hash  KEYS[2] ids zset
-- ARGV[1] key_id  ARGV[2] created (epoch ms)  ARGV[3] created (ISO)  ARGV[4] scopes  ARGV[5] store_id  ARGV[6] label
-- ARGV[7] sealed secret
if redis.call('EXISTS', KEYS[1]) == 1 then return fail('exists') end
redis.call('HSET', KEYS[1], 'scopes', ARGV[4], 'store_id', ARGV[5], 'label', ARGV[6], 'created_at', ARGV[3],
           'secret_enc', ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return ok()
