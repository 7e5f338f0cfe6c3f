-- Forget the oldest entries of a member's points history, those numbered up to ARGV[1] (the list is newest
-- first and numbered in order, so they are its tail). Idempotent: a second run finds nothing to forget.
-- KEYS[1] history list   ARGV[1] the highest entry number to forget
local through, forgotten = tonumber(ARGV[1]), 0
while true do
  local tail = redis.call('LINDEX', KEYS[1], -1)
  if not tail or cjson.decode(tail).seq > through then break end
  redis.call('RPOP', KEYS[1])
  forgotten = forgotten + 1
end
return ok({forgotten = forgotten})
