-- Follow (or first contact) of a WeChat user: create the member once, or restore an unfollowed one. An imported
-- member (status imported, filed under this openid by the import) joins with their first follow.
-- KEYS[1] profile  KEYS[2] op key  KEYS[3] outbox
-- ARGV[1] member_id  ARGV[2] openid  ARGV[3] now (iso)  ARGV[4] event_id  ARGV[5] op ttl  ARGV[6] via
local prior = replayed(KEYS[2])
if prior then return prior end

local status = redis.call('HGET', KEYS[1], 'status')
if status == 'erased' then return fail('member_erased') end   -- the openid named this member before its erasure
local answer
if not status or status == 'imported' then
  redis.call('HSET', KEYS[1], 'member_id', ARGV[1], 'openid', ARGV[2], 'status', 'subscribed',
             'joined_at', ARGV[3], 'followed_at', ARGV[3], 'follow_count', 1, 'joined_via', ARGV[6])
  emit(KEYS[3], ARGV[4], 'member_joined', ARGV[1], ARGV[3], {via = ARGV[6]})
  answer = ok({member_id = ARGV[1], is_new = true, restored = false})
elseif status == 'unsubscribed' then
  redis.call('HSET', KEYS[1], 'status', 'subscribed', 'followed_at', ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'follow_count', 1)
  emit(KEYS[3], ARGV[4], 'member_refollowed', ARGV[1], ARGV[3], {via = ARGV[6]})
  answer = ok({member_id = ARGV[1], is_new = false, restored = true})
else
  answer = ok({member_id = ARGV[1], is_new = false, restored = false})
end
return remember(KEYS[2], ARGV[5], answer)
