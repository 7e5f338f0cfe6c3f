-- File a member in the segment indexes (one slot), unless facts of a newer snapshot were filed already. Every
-- sync carries the member's whole index state, so skipping an older one loses nothing; the sets the member
-- was filed in before are read from the state hash (same slot) and left.
-- KEYS[1] versions hash  KEYS[2] state hash  KEYS[3] all-members set  KEYS[4] due zset  KEYS[5] care-due hash
-- KEYS[6] totals hash (spend: the sum of the spend zset's scores, kept as they change)
-- KEYS[7..6+n] the sets to be in now  KEYS[7+n..] the score zsets, the spend zset first
-- ARGV[1] member_id  ARGV[2] snapshot (µs)  ARGV[3] n (sets)  ARGV[4] state text (the sets, space-separated)
-- ARGV[5] set key prefix  ARGV[6] next change day ('' = none)  ARGV[7] care due ('' = none)
-- ARGV[8..] the member's score in each zset, in KEYS order ('' = not in that index)
local member = ARGV[1]
local seen = tonumber(redis.call('HGET', KEYS[1], member) or '-1')
if tonumber(ARGV[2]) < seen then
  return ok({applied = false})
end
redis.call('HSET', KEYS[1], member, ARGV[2])
local now_in = {}
local n = tonumber(ARGV[3])
for i = 7, 6 + n do now_in[KEYS[i]] = true end
for name in string.gmatch(redis.call('HGET', KEYS[2], member) or '', '%S+') do
  local key = ARGV[5] .. name
  if not now_in[key] then redis.call('SREM', key, member) end
end
for key in pairs(now_in) do redis.call('SADD', key, member) end
redis.call('HSET', KEYS[2], member, ARGV[4])
redis.call('SADD', KEYS[3], member)
if ARGV[6] == '' then redis.call('ZREM', KEYS[4], member) else redis.call('ZADD', KEYS[4], ARGV[6], member) end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[5], member, ARGV[7]) end
local spend_before = tonumber(redis.call('ZSCORE', KEYS[7 + n], member) or '0')
redis.call('HINCRBY', KEYS[6], 'spend', tonumber(ARGV[8]) - spend_before)
for i = 7 + n, #KEYS do
  local score = ARGV[i + 1 - n]
  if score == '' then redis.call('ZREM', KEYS[i], member) else redis.call('ZADD', KEYS[i], score, member) end
end
return ok({applied = true})
