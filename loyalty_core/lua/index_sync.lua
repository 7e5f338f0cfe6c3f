-- Set a member's scores in the ledger's cross-member indexes (one slot), unless a newer state of that
-- member was written already: the indexes follow the member's `ver`, so a slow writer cannot undo a
-- newer one. Every sync carries the member's whole index state, so skipping an older one loses nothing;
-- the same version again is applied again (same state, same scores), which repairs a pre-mark.
-- KEYS[1] versions hash  KEYS[2..n] zsets   ARGV[1] member_id  ARGV[2] version
-- ARGV[3..] the member's score in each zset, in KEYS order ('' = not in that index)
local seen = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if tonumber(ARGV[2]) < seen then
  return ok({applied = false})
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
for i = 2, #KEYS do
  local score = ARGV[i + 1]
  if score == '' then
    redis.call('ZREM', KEYS[i], ARGV[1])
  else
    redis.call('ZADD', KEYS[i], score, ARGV[1])
  end
end
return ok({applied = true})
