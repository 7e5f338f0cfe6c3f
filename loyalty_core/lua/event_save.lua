-- Publish an event once, by its id: the same definition again returns what was recorded; another is refused.
-- KEYS[1] events hash  KEYS[2] numbers hash  KEYS[3] number sequence  KEYS[4] events by start
-- ARGV[1] event_id  ARGV[2] the event (JSON, without its number)  ARGV[3] its definition (JSON, to compare)
-- ARGV[4] starts_at (epoch ms)
local prior = redis.call('HGET', KEYS[1], ARGV[1])
if prior then
  local stored = cjson.decode(prior)
  if stored.definition ~= ARGV[3] then return fail('event_conflict') end
  return ok({event = stored.event, replayed = true})
end
local event = cjson.decode(ARGV[2])
event.number = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({event = event, definition = ARGV[3]}))
redis.call('HSET', KEYS[2], tostring(event.number), ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
return ok({event = event, replayed = false})
