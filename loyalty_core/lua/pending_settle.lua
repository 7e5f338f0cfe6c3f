-- Mark a member's pending choice done, if it is still the one given (a newer offer is left alone).
-- KEYS[1] pending choice   ARGV[1] choice_id
local raw = redis.call('GET', KEYS[1])
if not raw then return fail('no_choice') end
local choice = cjson.decode(raw)
if choice.choice_id ~= ARGV[1] then return fail('replaced') end
if choice.status ~= 'done' then
  choice.status = 'done'
  redis.call('SET', KEYS[1], cjson.encode(choice), 'KEEPTTL')
end
return ok()
