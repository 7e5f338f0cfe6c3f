-- Bind a request signature to the first target it was used with (SET NX GET, which Redis 6 lacks).
-- KEYS[1] signature key   ARGV[1] target ("METHOD path")   ARGV[2] seconds to keep the binding
local first = redis.call('GET', KEYS[1])
if not first then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return ok({first = ARGV[1]})
end
return ok({first = first})
