-- Erase a member's personal data on request: the personal fields of the profile and the member's keys that
-- hold personal data go, the ledger stays; the profile is marked erased (status, when, why). Erasing again
-- finishes what is left and keeps the first erasure's time and reason.
-- KEYS[1] profile  KEYS[2..] the member's keys to delete
-- ARGV[1] now (iso)  ARGV[2] reason  ARGV[3] n, the number of fields  ARGV[4..3+n] the profile's personal fields
if redis.call('EXISTS', KEYS[1]) == 0 then return fail('unknown_member') end
local erased_at = redis.call('HGET', KEYS[1], 'erased_at')
local already = erased_at ~= false
if not already then
  erased_at = ARGV[1]
  redis.call('HSET', KEYS[1], 'erased_at', ARGV[1], 'erase_reason', ARGV[2])
end
local fields = {}
for i = 4, 3 + tonumber(ARGV[3]) do fields[#fields + 1] = ARGV[i] end
redis.call('HDEL', KEYS[1], unpack(fields))
redis.call('HSET', KEYS[1], 'status', 'erased')
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
return ok({erased_at = erased_at, reason = redis.call('HGET', KEYS[1], 'erase_reason'), already = already})
