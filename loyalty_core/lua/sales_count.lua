-- Count a sale into the day's counts per store, once per (kind, txn_id). The counted set is needed only while
-- a sale of that day may still be posted or retried: it expires then (the counts stay).
-- KEYS[1] the day's counts hash  KEYS[2] the day's counted set
-- ARGV[1] store  ARGV[2] kind (member | walk_in | joined)  ARGV[3] txn_id  ARGV[4] amount (fen)
-- ARGV[5] when the counted set may go (epoch seconds)
if redis.call('SADD', KEYS[2], ARGV[2] .. ':' .. ARGV[3]) == 0 then return ok({counted = false}) end
-- (a day already past that time is only counted under a clock set back, as in tests: its set is kept)
if tonumber(ARGV[5]) > tonumber(redis.call('TIME')[1]) then redis.call('EXPIREAT', KEYS[2], ARGV[5]) end
local prefix = ARGV[1] .. '|' .. ARGV[2] .. '|'
redis.call('HINCRBY', KEYS[1], prefix .. 'count', 1)
if tonumber(ARGV[4]) > 0 then redis.call('HINCRBY', KEYS[1], prefix .. 'fen', ARGV[4]) end
return ok({counted = true})
