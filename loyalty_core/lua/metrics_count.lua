-- Count an event toward the mall's daily totals once (a redelivered event is not counted again).
-- KEYS[1] marks hash (event_id -> 1)  KEYS[2] daily totals hash ("<yyyy-mm-dd>|<measure>" -> n)
-- ARGV[1] event_id  ARGV[2] keep marks (seconds)  ARGV[3..] field, increment pairs
if redis.call('HSETNX', KEYS[1], ARGV[1], 1) == 0 then
  return ok({counted = false})
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
for i = 3, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end
return ok({counted = true})
