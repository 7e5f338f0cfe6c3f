-- Helpers of the points ledger, prepended (after _prelude.lua) to the points_* and tier_* scripts by
-- loyalty_core/redis_store/ledger.py. Every ledger script takes the same first keys and arguments:
--   KEYS[1] account hash  KEYS[2] lots zset  KEYS[3] lot data hash  KEYS[4] history list
--   KEYS[5] outbox hash   KEYS[6] ops hash (answers of spends, grants, refunds, reviews)
--   ARGV[1] member_id     ARGV[2] now (epoch ms)  ARGV[3] now (iso)
-- Invariants kept here: balance = sum of the live lots' remaining points; debt >= 0; debt > 0 only
-- while the balance is 0 (earnings pay the debt first); a lot with nothing remaining is deleted.
-- Points are whole numbers; amounts are integer fen.
local ACCOUNT, LOTS, LOT_DATA, HISTORY, OUTBOX, OPS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local MEMBER, NOW_MS, NOW_ISO = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local S = {}   -- the account as this script sees it: balance, debt, changed, ver
local EMITTED = {}

-- A domain event into the member's outbox. The caller relays exactly the events its script emitted;
-- those a crashed caller left behind are relayed by the outbox sweep.
local function publish(event_id, event_type, data)
  emit(OUTBOX, event_id, event_type, MEMBER, NOW_ISO, data)
  EMITTED[#EMITTED + 1] = event_id
end

local function num(value)
  return tonumber(value) or 0
end

-- Lua numbers are doubles: whole numbers are exact below 2^53, but a quotient may round up to the
-- next whole number. The exact floor(a / b) and remainder, for whole 0 <= a < 2^53 and b > 0.
local function divmod(a, b)
  local q = math.floor(a / b)
  local r = a - q * b
  while r < 0 do q, r = q - 1, r + b end
  while r >= b do q, r = q + 1, r - b end
  return q, r
end

-- The exact floor(x * y / z) for whole x < 2^53 and 0 <= y <= z < 2^34, though x * y may pass 2^53
-- (points × refunded fen of a large purchase): x = q*z + r, then r * y in two halves of y.
local function mul_div_floor(x, y, z)
  local q, r = divmod(x, z)
  local high, low = divmod(y, 32768)
  local q1, r1 = divmod(r * high, z)
  local q2 = divmod(r1 * 32768 + r * low, z)
  return q * y + q1 * 32768 + q2
end

local function begin()
  local v = redis.call('HMGET', ACCOUNT, 'balance', 'debt')
  S.balance, S.debt, S.changed = num(v[1]), num(v[2]), false
end

-- One history entry per change; `points` is the change of (balance - debt).
local function record(kind, points, ref, extra)
  S.changed = true
  local seq = redis.call('HINCRBY', ACCOUNT, 'hist_seq', 1)
  local entry = {seq = seq, kind = kind, points = points, balance = S.balance, debt = S.debt, ref = ref,
                 at = NOW_ISO}
  for k, v in pairs(extra or {}) do entry[k] = v end
  redis.call('LPUSH', HISTORY, cjson.encode(entry))
end

local function earned_in_year(year, points)
  if points ~= 0 then
    redis.call('HINCRBY', ACCOUNT, 'earned:' .. year, points)
  end
end

local function save_lot(lot)
  if lot.remaining <= 0 then
    redis.call('HDEL', LOT_DATA, lot.id)
    redis.call('ZREM', LOTS, lot.id)
  else
    redis.call('HSET', LOT_DATA, lot.id, cjson.encode(lot))
  end
end

local function add_lot(points, expires_ms, expires_iso, source, ref)
  local id = string.format('%010d', redis.call('HINCRBY', ACCOUNT, 'lot_seq', 1))
  local lot = {id = id, amount = points, remaining = points, earned_at = NOW_ISO, expires_at = expires_ms,
               expires_on = expires_iso, source = source, ref = ref}
  redis.call('HSET', LOT_DATA, id, cjson.encode(lot))
  redis.call('ZADD', LOTS, expires_ms, id)
  return id
end

-- Earned points pay the debt first; the rest becomes a lot. Returns the lot id ('' if none) and the debt paid.
local function credit(points, expires_ms, expires_iso, source, ref)
  local repaid = math.min(S.debt, points)
  S.debt = S.debt - repaid
  local lot_id = ''
  if points > repaid then
    lot_id = add_lot(points - repaid, expires_ms, expires_iso, source, ref)
    S.balance = S.balance + points - repaid
  end
  return lot_id, repaid
end

local function take_from(id, wanted, drawn)
  local raw = redis.call('HGET', LOT_DATA, id)
  if not raw then
    redis.call('ZREM', LOTS, id)
    return 0
  end
  local lot = cjson.decode(raw)
  local taken = math.min(lot.remaining, wanted)
  lot.remaining = lot.remaining - taken
  save_lot(lot)
  if drawn and taken > 0 then
    drawn[#drawn + 1] = {id = id, points = taken, amount = lot.amount, earned_at = lot.earned_at,
                         expires_at = lot.expires_at, expires_on = lot.expires_on, source = lot.source, ref = lot.ref}
  end
  return taken
end

-- Take up to `points` from the live lots: lot `first` (if any) first, then the oldest expiry first.
-- Returns how many were taken (less than asked only when the lots run out). `drawn` (optional) collects
-- what was taken from which lot, so that restore_lots can put it back.
local function take(points, first, drawn)
  local left = points
  if left > 0 and first and first ~= '' then
    left = left - take_from(first, left, drawn)
  end
  while left > 0 do
    local ids = redis.call('ZRANGE', LOTS, 0, 49)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do
      left = left - take_from(id, left, drawn)
      if left == 0 then break end
    end
  end
  S.balance = S.balance - (points - left)
  return points - left
end

-- Put points back into the lots `take` drew them from (as collected in `drawn`), with their own expiry: a lot
-- still alive grows again, one used up is made again under its id. Returns the points restored. Lots past
-- their date come back too, so that expire_due then takes them as if they had never been spent.
local function restore_lots(drawn)
  local total = 0
  for _, part in ipairs(drawn) do
    local raw = redis.call('HGET', LOT_DATA, part.id)
    local lot = raw and cjson.decode(raw) or
      {id = part.id, amount = part.amount, remaining = 0, earned_at = part.earned_at, expires_at = part.expires_at,
       expires_on = part.expires_on, source = part.source, ref = part.ref}
    lot.remaining = lot.remaining + part.points
    redis.call('HSET', LOT_DATA, part.id, cjson.encode(lot))
    redis.call('ZADD', LOTS, lot.expires_at, part.id)
    total = total + part.points
  end
  S.balance = S.balance + total
  return total
end

-- Points in lots already past their expiry that no script has expired yet (read only).
local function due_points()
  local total = 0
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', LOTS, '-inf', NOW_MS)) do
    local raw = redis.call('HGET', LOT_DATA, id)
    if raw then total = total + cjson.decode(raw).remaining end
  end
  return total
end

-- Remove what is left of every lot past its expiry: one history entry and one event per run.
local function expire_due()
  local due = redis.call('ZRANGEBYSCORE', LOTS, '-inf', NOW_MS)
  local total, expired = 0, {}
  for _, id in ipairs(due) do
    local raw = redis.call('HGET', LOT_DATA, id)
    if raw then
      local lot = cjson.decode(raw)
      total = total + lot.remaining
      expired[#expired + 1] = {lot_id = id, points = lot.remaining, expires_on = lot.expires_on}
      redis.call('HDEL', LOT_DATA, id)
    end
    redis.call('ZREM', LOTS, id)
  end
  if total > 0 then
    S.balance = S.balance - total
    local last = due[#due]
    record('expire', -total, last, {lots = #expired})
    redis.call('HINCRBY', ACCOUNT, 'expired_total', total)
    publish('points_expired:' .. MEMBER .. ':' .. last, 'points_expired',
            {points = total, lots = expired, balance = S.balance})
  end
  return total
end

-- Spend per day inside the window (days >= start); older days are dropped as the window slides.
local function window_spend(spend_key, start)
  local flat = redis.call('HGETALL', spend_key)
  local total, old = 0, {}
  for i = 1, #flat, 2 do
    if tonumber(flat[i]) < start then
      old[#old + 1] = flat[i]
    else
      total = total + tonumber(flat[i + 1])
    end
  end
  if #old > 0 then redis.call('HDEL', spend_key, unpack(old)) end
  return total
end

-- tiers: [{code, threshold (fen), …}] lowest first. The position of a code (unknown -> the base tier).
local function tier_position(tiers, code)
  for i, tier in ipairs(tiers) do
    if tier.code == code then return i end
  end
  return 1
end

local function qualifying_position(tiers, spend)
  local position = 1
  for i, tier in ipairs(tiers) do
    if spend >= tier.threshold then position = i end
  end
  return position
end

-- Upgrades stay on record for the grace period in which a refund can revert them (see revert_upgrades).
local function remember_upgrade(upgrade, grace_ms)
  local kept = {}
  for _, prior in ipairs(cjson.decode(redis.call('HGET', ACCOUNT, 'upgrades') or '[]')) do
    if NOW_MS - prior.at <= grace_ms then kept[#kept + 1] = prior end
  end
  if grace_ms > 0 then kept[#kept + 1] = upgrade end
  if #kept == 0 then
    redis.call('HDEL', ACCOUNT, 'upgrades')
  else
    redis.call('HSET', ACCOUNT, 'upgrades', cjson.encode(kept))
  end
end

-- A refund that leaves `spend` (fen) in the window reverts the newest upgrade inside its grace period while the
-- spend is under the tier's threshold: down to the tier before it, or the one the spend qualifies for if higher,
-- taking back the rewards of the tiers given up (their lot first, then the oldest, the rest as debt); a tier
-- given up earns its reward again when reached again. Rule stated in loyalty_core/tiers.py (revert_upgrades).
-- Returns the points taken back, the tier before and after, and the years whose earnings changed.
local function revert_upgrades(tiers, spend, grace_ms)
  local upgrades = cjson.decode(redis.call('HGET', ACCOUNT, 'upgrades') or '[]')
  local tier = tier_position(tiers, redis.call('HGET', ACCOUNT, 'tier'))
  local outcome = {taken = 0, from = tiers[tier].code, to = tiers[tier].code, years = {}}
  while #upgrades > 0 and grace_ms > 0 do
    local last = upgrades[#upgrades]
    if NOW_MS - last.at > grace_ms or spend >= tiers[tier].threshold then break end
    table.remove(upgrades)
    local target = math.max(tier_position(tiers, last.from), qualifying_position(tiers, spend))
    local kept = {}
    for _, reward in ipairs(last.rewards) do
      if tier_position(tiers, reward.tier) > target then
        S.debt = S.debt + reward.points - take(reward.points, last.lot)
        earned_in_year(last.year, -reward.points)
        redis.call('HDEL', ACCOUNT, 'rewarded:' .. reward.tier)
        outcome.taken = outcome.taken + reward.points
        outcome.years[#outcome.years + 1] = last.year
      else
        kept[#kept + 1] = reward
      end
    end
    if target > tier_position(tiers, last.from) then
      last.to, last.rewards = tiers[target].code, kept
      upgrades[#upgrades + 1] = last
    else
      redis.call('HSET', ACCOUNT, 'tier_since', last.since_before)
      if last.review_before == '' then
        redis.call('HDEL', ACCOUNT, 'review_on')
      else
        redis.call('HSET', ACCOUNT, 'review_on', last.review_before)
      end
    end
    tier = target
  end
  if tiers[tier].code == outcome.from then return outcome end
  outcome.to = tiers[tier].code
  redis.call('HSET', ACCOUNT, 'tier', outcome.to)
  if #upgrades == 0 then
    redis.call('HDEL', ACCOUNT, 'upgrades')
  else
    redis.call('HSET', ACCOUNT, 'upgrades', cjson.encode(upgrades))
  end
  S.changed = true
  return outcome
end

-- Save the account and say what the caller must do outside this slot: relay the events, and sync the
-- indexes with the member's whole index state (earliest expiry, earliest lot not yet warned about,
-- review day, points earned this year).
local function finish(result)
  if S.changed then
    redis.call('HSET', ACCOUNT, 'balance', S.balance, 'debt', S.debt)
    S.ver = redis.call('HINCRBY', ACCOUNT, 'ver', 1)
  else
    S.ver = num(redis.call('HGET', ACCOUNT, 'ver'))
  end
  result.balance, result.debt, result.ver = S.balance, S.debt, S.ver
  local first = redis.call('ZRANGE', LOTS, 0, 0, 'WITHSCORES')
  result.earliest = first[2] and tonumber(first[2]) or -1
  local unwarned = redis.call('ZRANGEBYSCORE', LOTS, '(' .. num(redis.call('HGET', ACCOUNT, 'warned_until')),
                              '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  result.unwarned = unwarned[2] and tonumber(unwarned[2]) or -1
  result.review_on = redis.call('HGET', ACCOUNT, 'review_on') or ''
  result.year = string.sub(NOW_ISO, 1, 4)
  result.earned_year = num(redis.call('HGET', ACCOUNT, 'earned:' .. result.year))
  local others, earned = {}, {}   -- other years whose earnings changed (a refund of last year's purchase, …)
  for _, year in ipairs(result.other_years or {}) do
    if year ~= result.year and not earned[year] then
      earned[year] = num(redis.call('HGET', ACCOUNT, 'earned:' .. year))
      others[#others + 1] = year
    end
  end
  result.other_years, result.other_earned = others, {}
  for i, year in ipairs(others) do result.other_earned[i] = earned[year] end
  local events = {}
  for _, event_id in ipairs(EMITTED) do
    local body = redis.call('HGET', OUTBOX, event_id)
    if body then
      events[#events + 1] = event_id
      events[#events + 1] = body
    end
  end
  result.events = events
  return ok(result)
end
