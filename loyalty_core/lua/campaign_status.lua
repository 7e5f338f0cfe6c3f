-- Move a campaign to a new status if it is in one of the statuses the move starts from. A campaign stays on
-- the schedule while it is scheduled or being sent (a send cut short is taken up again); a recurring one goes
-- back to scheduled with its next time; sent and cancelled ones leave the schedule.
-- KEYS[1] campaign hash  KEYS[2] schedule zset
-- ARGV[1] campaign_id  ARGV[2] the statuses it may be in (space-separated)  ARGV[3] the new status
-- ARGV[4] when it is due next (ms; '' = unchanged)
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return fail('unknown_campaign') end
for allowed in string.gmatch(ARGV[2], '%S+') do
  if allowed == status then
    redis.call('HSET', KEYS[1], 'status', ARGV[3])
    redis.call('HINCRBY', KEYS[1], 'version', 1)
    if ARGV[3] == 'sent' or ARGV[3] == 'cancelled' then
      redis.call('ZREM', KEYS[2], ARGV[1])
    elseif ARGV[4] ~= '' then
      redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
      redis.call('HINCRBY', KEYS[1], 'runs', 1)
    end
    return ok({moved = true, status = ARGV[3], was = status})
  end
end
return ok({moved = false, status = status})
