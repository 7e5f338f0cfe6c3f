-- A released reward counts for the referrer: rewarded (all time and this month), the level reached
-- before it, and the points it earns at that level. Once per referee (the first answer is kept).
-- KEYS[1] referrer hash  KEYS[2] referees hash
-- ARGV[1] referee member_id  ARGV[2] now (iso)  ARGV[3] month (yyyymm)  ARGV[4] base points
-- ARGV[5] levels JSON [{code, min_rewarded, multiplier_milli}]
local field = 'credit:' .. ARGV[1]
local prior = redis.call('HGET', KEYS[1], field)
if prior then return prior end

local before = tonumber(redis.call('HGET', KEYS[1], 'rewarded') or '0')
local level, best, milli = '', -1, 1000
for _, candidate in ipairs(cjson.decode(ARGV[5])) do
  if before >= candidate.min_rewarded and candidate.min_rewarded > best then
    level, best, milli = candidate.code, candidate.min_rewarded, candidate.multiplier_milli
  end
end
local points = math.floor(tonumber(ARGV[4]) * milli / 1000)
local mark = 'reserve:' .. ARGV[1]
local month = redis.call('HGET', KEYS[1], mark)
if month and string.match(month, '^%d+$') then
  redis.call('HINCRBY', KEYS[1], 'pending', -1)
  redis.call('HSET', KEYS[1], mark, 'credited:' .. month)
end
local rewarded = redis.call('HINCRBY', KEYS[1], 'rewarded', 1)
local month_count = redis.call('HINCRBY', KEYS[1], 'rewarded:' .. ARGV[3], 1)
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({status = 'rewarded', points = points, at = ARGV[2]}))
local answer = ok({points = points, level = level, rewarded = rewarded, month_count = month_count,
                   month = ARGV[3]})
redis.call('HSET', KEYS[1], field, answer)
return answer
