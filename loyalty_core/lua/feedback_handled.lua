-- A piece of members' feedback marked handled by staff, once: a second mark returns the first.
-- KEYS[1] the marks (hash ref -> JSON)
-- ARGV[1] ref  ARGV[2] the mark (JSON {by, at, reason})
local prior = redis.call('HGET', KEYS[1], ARGV[1])
if prior then return ok({mark = cjson.decode(prior), replayed = true}) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ok({mark = cjson.decode(ARGV[2]), replayed = false})
