-- Store a campaign once: the same campaign_id again returns what was stored first (the caller compares the
-- fingerprints: the same body is a replay, another is a conflict).
-- KEYS[1] campaign hash  KEYS[2] campaign ids zset  KEYS[3] schedule zset
-- ARGV[1] campaign_id  ARGV[2] fingerprint  ARGV[3] body JSON  ARGV[4] answer JSON  ARGV[5] now (ms)
-- ARGV[6] status  ARGV[7] when it is due (ms; '' = not scheduled)
local prior = redis.call('HMGET', KEYS[1], 'fingerprint', 'answer')
if prior[1] then
  return ok({created = false, fingerprint = prior[1], answer = prior[2]})
end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[2], 'body', ARGV[3], 'answer', ARGV[4], 'status', ARGV[6],
           'version', 1, 'created_ms', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[3], ARGV[7], ARGV[1]) end
return ok({created = true, fingerprint = ARGV[2], answer = ARGV[4]})
