-- Clear one field of a JSON value kept in a hash (an erased member's comment in an event's feedback or a
-- store's survey answers); the score and the counts stay.
-- KEYS[1] hash  ARGV[1] field  ARGV[2] the JSON field to clear  ARGV[3] member_id the value must name ('' = any)
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return ok({cleared = 0}) end
local value = cjson.decode(raw)
if ARGV[3] ~= '' and value.member_id ~= ARGV[3] then return ok({cleared = 0}) end
if value[ARGV[2]] == nil or value[ARGV[2]] == '' then return ok({cleared = 0}) end
value[ARGV[2]] = ''
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(value))
return ok({cleared = 1})
