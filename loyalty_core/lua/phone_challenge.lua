-- Start a phone verification: at most one code per cooldown, valid for a limited time.
-- KEYS[1] challenge
-- ARGV[1] phone_enc  ARGV[2] phone_hash  ARGV[3] code_hash  ARGV[4] now (ms)  ARGV[5] validity (ms)
-- ARGV[6] cooldown (ms)
local now = tonumber(ARGV[4])
local sent_at = tonumber(redis.call('HGET', KEYS[1], 'sent_at') or '0')
local cooldown = tonumber(ARGV[6])
if now - sent_at < cooldown then
  return fail('code_cooldown', {retry_in_ms = cooldown - (now - sent_at)})
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'phone_enc', ARGV[1], 'phone_hash', ARGV[2], 'code_hash', ARGV[3],
           'tries', 0, 'sent_at', now, 'expires_at', now + tonumber(ARGV[5]))
-- Validity is judged against the injected clock above; the TTL only collects garbage.
redis.call('EXPIRE', KEYS[1], 86400)
return ok({expires_at = now + tonumber(ARGV[5])})
