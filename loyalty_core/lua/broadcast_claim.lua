-- Confirm a broadcast, once: counted against its manager's day, filed in the manager's broadcast log, and its
-- domain event (broadcast_confirmed, carrying what to send) written to the manager's outbox, from which the
-- broadcast consumer sends it. A repeat of the same broadcast changes nothing.
-- KEYS[1] the manager's broadcasts of the day  KEYS[2] the manager's outbox  KEYS[3] the manager's broadcast log
-- ARGV[1] broadcast_id  ARGV[2] most broadcasts a day  ARGV[3] ttl seconds  ARGV[4] manager's member_id
-- ARGV[5] now (iso)  ARGV[6] now (ms)  ARGV[7] the event's data (JSON)  ARGV[8] how many the log keeps
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return ok({replayed = true}) end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return fail('broadcast_limit', {limit = tonumber(ARGV[2])}) end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
emit(KEYS[2], 'broadcast:' .. ARGV[1], 'broadcast_confirmed', ARGV[4], ARGV[5], cjson.decode(ARGV[7]))
redis.call('ZADD', KEYS[3], tonumber(ARGV[6]), ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[8]) - 1)
return ok({replayed = false})
