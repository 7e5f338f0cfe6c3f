--! uses _ledger
-- The tier review on its anniversary: keep the tier while the window's spend still qualifies for it,
-- else drop to the tier the spend qualifies for. Once per review day.
-- KEYS[1..6] see _ledger.lua  KEYS[7] spend-days hash
-- ARGV[1..3] see _ledger.lua  ARGV[4] today (yyyymmdd)  ARGV[5] window start day (yyyymmdd)
-- ARGV[6] tiers JSON [{code, threshold (fen)}] lowest first  ARGV[7] the review day the caller read
-- ARGV[8] the review day after it (one interval later)
begin()
local op = 'review:' .. ARGV[7]
local review_on = redis.call('HGET', ACCOUNT, 'review_on')
local prior = redis.call('HGET', OPS, op)
if prior then
  return finish({answer = cjson.decode(prior).answer, replayed = true})
end
local tier = redis.call('HGET', ACCOUNT, 'tier') or ''
if not review_on or review_on ~= ARGV[7] or tonumber(review_on) > tonumber(ARGV[4]) then
  return finish({answer = {member_id = MEMBER, due = false, tier = tier}})
end

local tiers = cjson.decode(ARGV[6])
local spend = window_spend(KEYS[7], tonumber(ARGV[5]))
local current = tier_position(tiers, tier)
local qualifying = qualifying_position(tiers, spend)
local answer
if qualifying >= current then
  redis.call('HSET', ACCOUNT, 'review_on', ARGV[8])
  publish('tier_review:' .. MEMBER .. ':' .. review_on, 'tier_reviewed',
          {tier = tiers[current].code, kept = true, spend_fen = spend, next_review_on = ARGV[8]})
  answer = {member_id = MEMBER, due = true, kept = true, from = tiers[current].code, to = tiers[current].code,
            spend_fen = spend}
else
  local to = tiers[qualifying].code
  redis.call('HSET', ACCOUNT, 'tier', to, 'tier_since', NOW_ISO)
  if qualifying == 1 then
    redis.call('HDEL', ACCOUNT, 'review_on')
  else
    redis.call('HSET', ACCOUNT, 'review_on', ARGV[8])
  end
  publish('tier_review:' .. MEMBER .. ':' .. review_on, 'tier_downgraded',
          {from = tiers[current].code, to = to, spend_fen = spend})
  answer = {member_id = MEMBER, due = true, kept = false, from = tiers[current].code, to = to, spend_fen = spend}
end
redis.call('HDEL', ACCOUNT, 'upgrades')   -- the review is the new baseline: no refund reverts an older upgrade
S.changed = true
redis.call('HSET', OPS, op, cjson.encode({answer = answer}))
return finish({answer = answer, replayed = false})
