-- A token bucket shared by every sender process: up to ARGV[3] tokens now, refilled at ARGV[1] a second up to
-- ARGV[2]. Timed by the Redis server's own clock, the one clock all processes share.
-- KEYS[1] bucket   ARGV[1] rate (tokens a second)  ARGV[2] burst  ARGV[3] tokens wanted
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now_ms
tokens = math.min(burst, tokens + math.max(0, now_ms - at) * rate / 1000)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now_ms)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
local wait_ms = 0
if granted < want then wait_ms = math.ceil((1 - tokens) / rate * 1000) end
return ok({granted = granted, wait_ms = wait_ms})
