-- Move a campaign to a new status if it is in one of the statuses the move starts from; leaving the
-- scheduled statuses takes it off the schedule.
-- KEYS[1] campaign hash  KEYS[2] schedule zset
-- ARGV[1] campaign_id  ARGV[2] the statuses it may be in (space-separated)  ARGV[3] the new status
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return fail('unknown_campaign') end
for allowed in string.gmatch(ARGV[2], '%S+') do
  if allowed == status then
    redis.call('HSET', KEYS[1], 'status', ARGV[3])
    redis.call('HINCRBY', KEYS[1], 'version', 1)
    if ARGV[3] ~= 'scheduled' then redis.call('ZREM', KEYS[2], ARGV[1]) end
    return ok({moved = true, status = ARGV[3], was = status})
  end
end
return ok({moved = false, status = status})
