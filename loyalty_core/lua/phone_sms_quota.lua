-- Count a verification SMS against its phone number, whichever member asks: one per cooldown, a daily maximum.
-- Both keys carry the phone hash as their hash tag (one slot). Times are the injected clock's; TTLs only
-- collect garbage.
-- KEYS[1] when the last code went to the number (ms)  KEYS[2] codes sent to it that day
-- ARGV[1] now (ms)  ARGV[2] cooldown (ms)  ARGV[3] codes a day  ARGV[4] how long the keys are kept (s)
local now, cooldown = tonumber(ARGV[1]), tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if now - last < cooldown then
  return fail('code_cooldown', {retry_in_ms = cooldown - (now - last)})
end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[3]) then
  return fail('phone_daily_limit')
end
redis.call('SET', KEYS[1], now, 'EX', ARGV[4])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return ok()
