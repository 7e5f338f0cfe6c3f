-- 取消: forget a member's pending choice if it is still open. One that 确认 has claimed (confirming or done)
-- stays: it is being carried out. Answers with the choice as stored.
-- KEYS[1] pending choice
local raw = redis.call('GET', KEYS[1])
if not raw then return fail('no_choice') end
if cjson.decode(raw).status ~= 'open' then return fail('claimed', {choice = raw}) end
redis.call('DEL', KEYS[1])
return ok({choice = raw})
