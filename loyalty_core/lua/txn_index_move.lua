-- Point a txn index entry at its new holder, only if it still holds the old one (a walk-in sale that joined);
-- the entry keeps its time to live.
-- KEYS[1] txn index key   ARGV[1] old holder   ARGV[2] new holder
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return ok({moved = true})
end
return ok({moved = held == ARGV[2]})
