-- Changes fields of an existing console user; with its audit entry.
-- KEYS[1] user hash  KEYS[2] audit stream
-- ARGV[1] audit cap  ARGV[2] number of changed fields n  ARGV[3 .. 2+2n] field, value pairs  then the audit pairs
if redis.call('EXISTS', KEYS[1]) == 0 then return fail('unknown') end
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  redis.call('HSET', KEYS[1], ARGV[3 + 2 * i], ARGV[4 + 2 * i])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 3 + 2 * n))
return ok()
