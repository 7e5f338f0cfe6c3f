-- Keep a member's suggestion once per message (a retried callback adds none).
-- KEYS[1] suggestions stream  KEYS[2] the message's op key
-- ARGV[1] member_id  ARGV[2] text  ARGV[3] at (iso)  ARGV[4] entries kept  ARGV[5] op key ttl seconds
if replayed(KEYS[2]) then return ok({replayed = true}) end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'member_id', ARGV[1], 'text', ARGV[2], 'at', ARGV[3])
remember(KEYS[2], tonumber(ARGV[5]), '1')
return ok({replayed = false})
