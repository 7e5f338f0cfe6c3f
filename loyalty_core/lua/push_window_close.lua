-- The member's window is closed in our facts: the member unfollowed, or the platform refused a message.
-- KEYS[1] push facts   ARGV[1] now ms
local closes = tonumber(redis.call('HGET', KEYS[1], 'w_closes'))
if closes and closes > tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'w_closes', ARGV[1]) end
return ok()
