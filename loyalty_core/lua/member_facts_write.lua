-- A member's segmentation facts, recomputed from a snapshot of their records, unless a newer snapshot was
-- written already (the newest snapshot wins, whatever order two writers arrive in). Keeps when the member
-- entered their stage (and began to lapse): a change of either is a transition, returned to the caller.
-- KEYS[1] facts hash
-- ARGV[1] snapshot (µs, Redis time)  ARGV[2] today (day ordinal)  ARGV[3] facts JSON (field -> text)
local seen = tonumber(redis.call('HGET', KEYS[1], 'snap') or '-1')
if tonumber(ARGV[1]) < seen then
  return ok({applied = false})
end
local facts = cjson.decode(ARGV[3])
local before = redis.call('HMGET', KEYS[1], 'stage', 'stage_since', 'lapsing', 'lapsing_since')
local transitions = {}
facts.stage_since = before[2]
if before[1] ~= facts.stage then
  facts.stage_since = ARGV[2]
  transitions[#transitions + 1] = facts.stage
end
facts.lapsing_since = before[4] or ''
if facts.lapsing == '1' and before[3] ~= '1' then
  facts.lapsing_since = ARGV[2]
  transitions[#transitions + 1] = 'lapsing'
end
local fields = {'snap', ARGV[1]}
for name, value in pairs(facts) do
  fields[#fields + 1] = name
  fields[#fields + 1] = value
end
redis.call('HSET', KEYS[1], unpack(fields))
return ok({applied = true, transitions = transitions, since = ARGV[2], stage_since = facts.stage_since})
