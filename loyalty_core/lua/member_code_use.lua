-- A till presents a member code: valid once, for one purchase (a retry of that purchase may use it again).
-- KEYS[1] code   ARGV[1] txn_id  ARGV[2] now (epoch ms)
local raw = redis.call('GET', KEYS[1])
if not raw then return fail('invalid_member_code') end
local code = cjson.decode(raw)
if code.used_by and code.used_by ~= ARGV[1] then return fail('invalid_member_code') end
if not code.used_by then
  if tonumber(ARGV[2]) > code.expires_at then return fail('invalid_member_code') end
  code.used_by = ARGV[1]
  redis.call('SET', KEYS[1], cjson.encode(code), 'KEEPTTL')
end
return ok({member_id = code.member_id})
