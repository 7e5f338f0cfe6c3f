-- An erased member's openid out of a mass batch's member list (kept for the platform's report): the entry
-- stays, counted, with no openid.
-- KEYS[1] mass batch  ARGV[1] member_id
local raw = redis.call('HGET', KEYS[1], 'members')
if not raw then return ok({scrubbed = 0}) end
local members = cjson.decode(raw)
local scrubbed = 0
for _, entry in ipairs(members) do
  if entry[1] == ARGV[1] and entry[3] ~= '' then
    entry[3] = ''
    scrubbed = scrubbed + 1
  end
end
if scrubbed > 0 then redis.call('HSET', KEYS[1], 'members', cjson.encode(members)) end
return ok({scrubbed = scrubbed})
