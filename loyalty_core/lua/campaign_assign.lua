-- Record the arms of a batch of members, each once: a member assigned already keeps the first arm recorded.
-- KEYS[1] assignments hash  KEYS[2] counts hash
-- ARGV[1..] member_id, arm pairs.  Returns the recorded arm of each member, in order.
local arms, added = {}, {}
for i = 1, #ARGV, 2 do
  local member, arm = ARGV[i], ARGV[i + 1]
  if redis.call('HSETNX', KEYS[1], member, arm) == 1 then
    added[arm] = (added[arm] or 0) + 1
    arms[#arms + 1] = arm
  else
    arms[#arms + 1] = redis.call('HGET', KEYS[1], member)
  end
end
for arm, n in pairs(added) do redis.call('HINCRBY', KEYS[2], arm .. '|members', n) end   -- once per arm
return ok({arms = arms})
