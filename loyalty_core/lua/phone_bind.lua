-- Bind a verified phone to the member (the phone index was claimed just before).
-- KEYS[1] profile  KEYS[2] challenge  KEYS[3] outbox
-- ARGV[1] member_id  ARGV[2] phone_hash  ARGV[3] phone_enc  ARGV[4] now (iso)  ARGV[5] event_id
if redis.call('HGET', KEYS[1], 'status') == 'erased' then return fail('member_erased') end
local previous = redis.call('HGET', KEYS[1], 'phone_hash') or ''
redis.call('HSET', KEYS[1], 'phone_hash', ARGV[2], 'phone_enc', ARGV[3], 'phone_bound_at', ARGV[4])
redis.call('DEL', KEYS[2])
if previous ~= ARGV[2] then
  emit(KEYS[3], ARGV[5], 'phone_bound', ARGV[1], ARGV[4], {replaced = previous ~= ''})
end
return ok({previous_hash = previous})
