-- KEYS[1] profile  KEYS[2] op key  KEYS[3] outbox
-- ARGV[1] member_id  ARGV[2] now (iso)  ARGV[3] event_id  ARGV[4] op ttl
local prior = replayed(KEYS[2])
if prior then return prior end

local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('unknown_member')
end
local changed = status ~= 'unsubscribed'
if changed then
  redis.call('HSET', KEYS[1], 'status', 'unsubscribed', 'unfollowed_at', ARGV[2])
  emit(KEYS[3], ARGV[3], 'member_unsubscribed', ARGV[1], ARGV[2], {})
end
return remember(KEYS[2], ARGV[4], ok({changed = changed}))
