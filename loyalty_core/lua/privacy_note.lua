-- The privacy notice in a member's profile: shown (which version, when) and agreed to (which version, when;
-- the first agreement to a version is kept). "read" changes nothing.
-- KEYS[1] profile  ARGV[1] step: shown | consent | read  ARGV[2] notice version  ARGV[3] now (iso)
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return fail('unknown_member') end
if status == 'erased' and ARGV[1] ~= 'read' then return fail('member_erased') end
if ARGV[1] == 'shown' then
  redis.call('HSET', KEYS[1], 'privacy_notice_shown', ARGV[2], 'privacy_shown_at', ARGV[3])
elseif ARGV[1] == 'consent' and redis.call('HGET', KEYS[1], 'privacy_notice') ~= ARGV[2] then
  redis.call('HSET', KEYS[1], 'privacy_notice', ARGV[2], 'privacy_consented_at', ARGV[3])
end
local state = redis.call('HMGET', KEYS[1], 'privacy_notice_shown', 'privacy_notice', 'privacy_consented_at')
return ok({shown = state[1] or '', consented = state[2] or '', consented_at = state[3] or ''})
