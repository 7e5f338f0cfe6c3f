-- 确认 claims a member's pending choice before carrying it out: open -> confirming, so that 取消 can no longer
-- drop it meanwhile. A repeated 确认 of the same choice claims it again (its handler is idempotent); a choice
-- cancelled or replaced since it was read is not claimed.
-- KEYS[1] pending choice   ARGV[1] choice_id
local raw = redis.call('GET', KEYS[1])
if not raw then return fail('no_choice') end
local choice = cjson.decode(raw)
if choice.choice_id ~= ARGV[1] then return fail('replaced') end
if choice.status == 'open' then
  choice.status = 'confirming'
  redis.call('SET', KEYS[1], cjson.encode(choice), 'KEEPTTL')
end
return ok({status = choice.status})
