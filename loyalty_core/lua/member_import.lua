-- One row of a member import: create the imported member, or fill the fields a matched member is missing.
-- Nothing present is ever overwritten (a member's own birthday, name or phone stay), and equal values are not
-- written again, so the same file imported twice changes nothing.
-- KEYS[1] profile  KEYS[2] birthday hash
-- ARGV[1] member_id  ARGV[2] now (iso)  ARGV[3] source  ARGV[4] fields JSON {phone_hash, phone_enc, openid,
--         name_enc, email_enc, gender, member_no}  ARGV[5] sealed birthday ('' = none)  ARGV[6] its label hash
local fields = cjson.decode(ARGV[4])
local created = redis.call('EXISTS', KEYS[1]) == 0
local held = redis.call('HMGET', KEYS[1], 'openid', 'phone_hash', 'sources')
if fields.openid and held[1] and held[1] ~= fields.openid then return fail('conflict') end   -- (empty fields are never sent)
local phone_kept = fields.phone_hash and held[2] and held[2] ~= fields.phone_hash
if phone_kept then fields.phone_hash, fields.phone_enc = nil, nil end

local changed = false
if created then
  redis.call('HSET', KEYS[1], 'member_id', ARGV[1], 'status', 'imported', 'joined_at', ARGV[2])
end
redis.call('HSETNX', KEYS[1], 'imported_at', ARGV[2])      -- first imported at (a follower's too)
for _, name in ipairs({'phone_hash', 'phone_enc', 'openid', 'name_enc', 'email_enc', 'gender', 'member_no'}) do
  local value = fields[name]
  if value and value ~= '' and redis.call('HSETNX', KEYS[1], name, value) == 1 then changed = true end
end

local sources, seen = {}, {}
for name in string.gmatch(held[3] or '', '[^,]+') do sources[#sources + 1] = name; seen[name] = true end
if not seen[ARGV[3]] then
  sources[#sources + 1] = ARGV[3]
  table.sort(sources)
  redis.call('HSET', KEYS[1], 'sources', table.concat(sources, ','))
  changed = true
end

if ARGV[5] ~= '' and redis.call('HEXISTS', KEYS[2], 'enc') == 0 then
  redis.call('HSET', KEYS[2], 'enc', ARGV[5], 'label', ARGV[6], 'set_at', ARGV[2], 'changes', 0, 'set_by', 'import')
  changed = true
end
local outcome = created and 'created' or (changed and 'merged' or 'unchanged')
return ok({outcome = outcome, phone_kept = phone_kept and true or false,
           birthday_label = redis.call('HGET', KEYS[2], 'label') or ''})
