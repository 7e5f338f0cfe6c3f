-- Forget a member's pending choice, if it is still the one given (a newer offer is left alone).
-- KEYS[1] pending choice   ARGV[1] choice_id
local raw = redis.call('GET', KEYS[1])
if not raw then return fail('no_choice') end
if cjson.decode(raw).choice_id ~= ARGV[1] then return fail('replaced') end
redis.call('DEL', KEYS[1])
return ok()
