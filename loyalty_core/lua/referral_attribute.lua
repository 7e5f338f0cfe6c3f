-- A new follower who arrived through a referral QR code becomes the referee of its referrer (one
-- referrer per member), or the attempt is refused with its reason (a referral_rejected event).
-- KEYS[1] referee hash  KEYS[2] outbox (the follower's)
-- ARGV[1] follower member_id  ARGV[2] now (iso)  ARGV[3] referrer member_id ('' when the scene named none)
-- ARGV[4] reason found before the script ('' = none)  ARGV[5] id of this arrival (from the callback's delivery key)
local reason = ARGV[4]
local current = redis.call('HGET', KEYS[1], 'referrer')
if reason == '' and current then
  if current == ARGV[3] then return ok({attributed = true, replayed = true}) end  -- WeChat's retry of the follow
  reason = 'already_referred'
end
if reason ~= '' then
  emit(KEYS[2], 'referral_rejected:' .. ARGV[1] .. ':' .. ARGV[5], 'referral_rejected', ARGV[1], ARGV[2],
       {referrer_id = ARGV[3], reason = reason})
  return ok({attributed = false, reason = reason})
end
redis.call('HSET', KEYS[1], 'referrer', ARGV[3], 'attributed_at', ARGV[2], 'status', 'attributed')
emit(KEYS[2], 'referral_attributed:' .. ARGV[1], 'referral_attributed', ARGV[1], ARGV[2], {referrer_id = ARGV[3]})
return ok({attributed = true, replayed = false})
