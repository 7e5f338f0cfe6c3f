-- On the referrer's side: a referee joined, or an attempt was refused (kept in a short list with its reason).
-- KEYS[1] referrer hash  KEYS[2] referees hash  KEYS[3] rejections list  KEYS[4] op key
-- ARGV[1] follower member_id  ARGV[2] now (iso)  ARGV[3] 'joined' or the reason refused  ARGV[4] op ttl
-- ARGV[5] how many rejections to keep
if ARGV[3] == 'joined' then
  if redis.call('HSETNX', KEYS[2], ARGV[1], cjson.encode({status = 'joined', at = ARGV[2]})) == 1 then
    redis.call('HINCRBY', KEYS[1], 'joined', 1)
  end
  return ok({joined = true})
end
if not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[4]) then return ok({joined = false, replayed = true}) end
redis.call('LPUSH', KEYS[3], cjson.encode({referee = ARGV[1], reason = ARGV[3], at = ARGV[2]}))
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
redis.call('HINCRBY', KEYS[1], 'rejected', 1)
return ok({joined = false, replayed = false})
