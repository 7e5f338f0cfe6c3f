-- Keep a walk-in sale once (its txn_id is claimed for nobody in the txn index first).
-- KEYS[1] the sale hash   ARGV[1] the sale JSON {txn_id, fingerprint, amount_fen, occurred_at, category,
-- store_id, join_until}
-- Returns the sale as first kept, with replayed = true when it was kept before (the caller compares fingerprints).
if redis.call('EXISTS', KEYS[1]) == 1 then
  local kept = redis.call('HGETALL', KEYS[1])
  local sale = {}
  for i = 1, #kept, 2 do sale[kept[i]] = kept[i + 1] end
  return ok({sale = sale, replayed = true})
end
local sale = cjson.decode(ARGV[1])
for k, v in pairs(sale) do redis.call('HSET', KEYS[1], k, tostring(v)) end
return ok({sale = sale, replayed = false})
