-- The member sets their birthday, once: a second attempt is refused (staff change it, birthday_change).
-- KEYS[1] birthday hash  KEYS[2] audit list  KEYS[3] outbox
-- ARGV[1] member_id  ARGV[2] now (iso)  ARGV[3] sealed birthday  ARGV[4] label hash  ARGV[5] calendar
-- ARGV[6] operation id (the confirmation's id: a repeated 确认 gets the first answer)
local op = 'op:' .. ARGV[6]
local prior = redis.call('HGET', KEYS[1], op)
if prior then return prior end
if redis.call('HEXISTS', KEYS[1], 'enc') == 1 then return fail('birthday_already_set') end

redis.call('HSET', KEYS[1], 'enc', ARGV[3], 'label', ARGV[4], 'set_at', ARGV[2], 'changes', 0)
redis.call('LPUSH', KEYS[2], cjson.encode({action = 'set', at = ARGV[2], by = 'member', request_id = ARGV[6],
                                           enc = ARGV[3]}))
emit(KEYS[3], 'birthday_set:' .. ARGV[1], 'birthday_set', ARGV[1], ARGV[2], {calendar = ARGV[5], label = ARGV[4]})
local answer = ok({label = ARGV[4], previous_label = ''})
redis.call('HSET', KEYS[1], op, answer)
return answer
