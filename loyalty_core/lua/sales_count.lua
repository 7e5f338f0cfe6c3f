-- Count a sale into the day's counts per store, once per (kind, txn_id).
-- KEYS[1] the day's counts hash  KEYS[2] the day's counted set
-- ARGV[1] store  ARGV[2] kind (member | walk_in | joined)  ARGV[3] txn_id  ARGV[4] amount (fen)
if redis.call('SADD', KEYS[2], ARGV[2] .. ':' .. ARGV[3]) == 0 then return ok({counted = false}) end
local prefix = ARGV[1] .. '|' .. ARGV[2] .. '|'
redis.call('HINCRBY', KEYS[1], prefix .. 'count', 1)
if tonumber(ARGV[4]) > 0 then redis.call('HINCRBY', KEYS[1], prefix .. 'fen', ARGV[4]) end
return ok({counted = true})
