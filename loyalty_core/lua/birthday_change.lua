-- Staff set or change a member's birthday, with a reason; audited in the member's slot. Once per request_id:
-- the same request again gets the first answer, another change under the same request_id is refused.
-- KEYS[1] birthday hash  KEYS[2] audit list  KEYS[3] outbox
-- ARGV[1] member_id  ARGV[2] now (iso)  ARGV[3] sealed birthday  ARGV[4] label hash  ARGV[5] calendar
-- ARGV[6] request_id  ARGV[7] staff id  ARGV[8] reason  ARGV[9] fingerprint of the request
local op = 'op:' .. ARGV[6]
local prior = redis.call('HGET', KEYS[1], op)
if prior then
  local done = cjson.decode(prior)
  if done.fp ~= ARGV[9] then return fail('birthday_change_conflict') end
  done.answer.replayed = true
  return cjson.encode(done.answer)
end

local previous_enc = redis.call('HGET', KEYS[1], 'enc') or ''
local previous_label = redis.call('HGET', KEYS[1], 'label') or ''
redis.call('HSET', KEYS[1], 'enc', ARGV[3], 'label', ARGV[4], 'changed_at', ARGV[2])
if previous_enc == '' then redis.call('HSET', KEYS[1], 'set_at', ARGV[2]) end
local changes = redis.call('HINCRBY', KEYS[1], 'changes', 1)
local action = previous_enc == '' and 'set' or 'changed'
redis.call('LPUSH', KEYS[2], cjson.encode({action = action, at = ARGV[2], by = ARGV[7], reason = ARGV[8],
                                           request_id = ARGV[6], enc = ARGV[3], previous_enc = previous_enc}))
emit(KEYS[3], 'birthday_changed:' .. ARGV[1] .. ':' .. ARGV[6], 'birthday_changed', ARGV[1], ARGV[2],
     {calendar = ARGV[5], action = action, staff_id = ARGV[7], request_id = ARGV[6], changes = changes,
      label = ARGV[4], previous_label = previous_label})
local answer = {ok = true, action = action, label = ARGV[4], previous_label = previous_label, changes = changes,
                replayed = false}
redis.call('HSET', KEYS[1], op, cjson.encode({fp = ARGV[9], answer = answer}))
return cjson.encode(answer)
