-- A member's feedback on an event they came to, once: a second answer is the first one's.
-- KEYS[1] feedback hash  KEYS[2] checked in
-- ARGV[1] member_id  ARGV[2] the feedback (JSON {score, comment, at})  ARGV[3] score
local prior = redis.call('HGET', KEYS[1], ARGV[1])
if prior then return ok({feedback = cjson.decode(prior), replayed = true}) end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return fail('no_feedback_due') end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[1], '_count', 1)
redis.call('HINCRBY', KEYS[1], '_sum', tonumber(ARGV[3]))
return ok({feedback = cjson.decode(ARGV[2]), replayed = false})
