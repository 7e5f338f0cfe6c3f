-- Record a community's definition once, by its id: the same id again returns what was recorded.
-- KEYS[1] communities hash  KEYS[2] names hash  KEYS[3] number sequence
-- ARGV[1] community_id  ARGV[2] name  ARGV[3] description  ARGV[4] tag_id  ARGV[5] most communities allowed
local prior = redis.call('HGET', KEYS[1], ARGV[1])
if prior then
  local stored = cjson.decode(prior)
  if stored.name ~= ARGV[2] then return fail('community_conflict') end
  return ok({community = stored, replayed = true})
end
local holder = redis.call('HGET', KEYS[2], ARGV[2])
if holder and holder ~= ARGV[1] then return fail('community_conflict') end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then return fail('community_limit') end
local community = {name = ARGV[2], description = ARGV[3], tag_id = tonumber(ARGV[4]),
                   number = redis.call('INCR', KEYS[3])}
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(community))
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return ok({community = community, replayed = false})
