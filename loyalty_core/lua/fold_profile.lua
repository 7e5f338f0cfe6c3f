-- The imported member takes the follower's WeChat identity: openid, status, follow times, nickname.
-- KEYS[1] imported member's profile  KEYS[2] their outbox
-- ARGV[1] member_id  ARGV[2] follower member_id  ARGV[3] now (iso)  ARGV[4] the follower's fields JSON
local held = redis.call('HMGET', KEYS[1], 'fold_from', 'openid')
if held[1] ~= ARGV[2] then return fail('phone_taken') end
local fields = cjson.decode(ARGV[4])
if held[2] == fields.openid then return ok({replayed = true}) end
for _, name in ipairs({'openid', 'status', 'joined_at', 'followed_at', 'follow_count', 'joined_via', 'nickname',
                       'unfollowed_at'}) do
  if fields[name] and fields[name] ~= '' then redis.call('HSET', KEYS[1], name, fields[name]) end
end
redis.call('HSET', KEYS[1], 'phone_bound_at', ARGV[3], 'folded_at', ARGV[3])
emit(KEYS[2], 'member_folded:' .. ARGV[1] .. ':' .. ARGV[2], 'member_folded', ARGV[1], ARGV[3], {from = ARGV[2]})
return ok({replayed = false})
