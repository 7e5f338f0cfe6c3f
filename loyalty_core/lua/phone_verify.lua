-- Check a verification code. Wrong codes count; the last allowed wrong code locks the challenge.
-- KEYS[1] challenge   ARGV[1] code_hash  ARGV[2] now (ms)  ARGV[3] max tries
if redis.call('EXISTS', KEYS[1]) == 0 then
  return fail('no_pending_code')
end
local c = redis.call('HMGET', KEYS[1], 'phone_enc', 'phone_hash', 'code_hash', 'tries', 'expires_at', 'verified')
if c[6] == '1' then
  return ok({phone_enc = c[1], phone_hash = c[2]})
end
local tries, max_tries = tonumber(c[4]), tonumber(ARGV[3])
if tries >= max_tries then
  return fail('too_many_tries')
end
if tonumber(ARGV[2]) > tonumber(c[5]) then
  return fail('code_expired')
end
if ARGV[1] ~= c[3] then
  tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
  if tries >= max_tries then
    return fail('too_many_tries')
  end
  return fail('wrong_code', {tries_left = max_tries - tries})
end
redis.call('HSET', KEYS[1], 'verified', '1')
return ok({phone_enc = c[1], phone_hash = c[2]})
