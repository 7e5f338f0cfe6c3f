-- Deletes the group's consumers that hold no pending entries and have been idle for at least the given
-- time: each process names its consumer after itself, so every restart leaves its old name behind. One
-- script, so that no entry can be delivered to a consumer between the check and the delete (deleting a
-- consumer drops the entries it holds).
-- KEYS[1] stream   ARGV[1] group   ARGV[2] idle time (ms)
local forgotten = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  if info['pending'] == 0 and info['idle'] >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    forgotten = forgotten + 1
  end
end
return ok({forgotten = forgotten})
