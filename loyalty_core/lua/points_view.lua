-- Read only: the member's balance and debt, and the live lots that expire before a horizon.
-- KEYS[1] account hash  KEYS[2] lots zset  KEYS[3] lot data hash   ARGV[1] horizon (epoch ms)
local account = redis.call('HMGET', KEYS[1], 'balance', 'debt')
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local lots = {}
if #ids > 0 then
  lots = redis.call('HMGET', KEYS[3], unpack(ids))
end
return ok({balance = tonumber(account[1]) or 0, debt = tonumber(account[2]) or 0, lots = lots})
