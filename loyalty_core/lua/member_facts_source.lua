-- Read only: the records a member's facts are made of, with the member's node's time, in one step (the time
-- orders the snapshots of one member, so it must be read with them, on their node).
-- KEYS[1] profile hash  KEYS[2] points account hash  KEYS[3] purchases hash  KEYS[4] coupons hash
local now = redis.call('TIME')
local profile = redis.call('HMGET', KEYS[1], 'joined_at', 'status', 'phone_hash')
local account = redis.call('HMGET', KEYS[2], 'balance', 'tier', 'earlier_first', 'earlier_last')
return ok({seconds = tonumber(now[1]), micros = tonumber(now[2]),
           joined_at = profile[1], status = profile[2], phone_hash = profile[3],
           balance = account[1], tier = account[2], earlier_first = account[3], earlier_last = account[4],
           purchases = redis.call('HVALS', KEYS[3]), coupons = redis.call('HVALS', KEYS[4])})
