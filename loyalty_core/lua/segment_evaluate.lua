-- The members of a segment (read-only but for its scratch keys, which expire): the intersection of its
-- clauses, each a set (or the union of several), a score range, or members to leave out.
-- KEYS[1] the result zset (scratch)  KEYS[2] the all-members set  KEYS[3..] every set and zset the clauses name
-- ARGV[1] clauses JSON [{op = any|range|none, keys = [...], low, high}]  ARGV[2] scratch TTL (s)
-- ARGV[3] sample size
local result, ttl = KEYS[1], tonumber(ARGV[2])
local clauses = cjson.decode(ARGV[1])
local parts, leave_out = {}, {}
for i, clause in ipairs(clauses) do
  local part = result .. ':' .. i
  if clause.op == 'range' then
    local low = clause.low == cjson.null and '-inf' or tostring(clause.low)
    local high = clause.high == cjson.null and '+inf' or tostring(clause.high)
    redis.call('ZRANGESTORE', part, clause.keys[1], low, high, 'BYSCORE')
    parts[#parts + 1] = part
  elseif #clause.keys == 1 and clause.op == 'any' then
    parts[#parts + 1] = clause.keys[1]
  else
    redis.call('SUNIONSTORE', part, unpack(clause.keys))
    if clause.op == 'none' then leave_out[#leave_out + 1] = part else parts[#parts + 1] = part end
  end
  redis.call('EXPIRE', part, ttl)
end
if #parts == 0 then parts[1] = KEYS[2] end
local args = {result, #parts}
for _, part in ipairs(parts) do args[#args + 1] = part end
args[#args + 1] = 'WEIGHTS'
for _ = 1, #parts do args[#args + 1] = 0 end
redis.call('ZINTERSTORE', unpack(args))
if #leave_out > 0 then
  redis.call('ZDIFFSTORE', result, 1 + #leave_out, result, unpack(leave_out))
end
redis.call('EXPIRE', result, ttl)
for i = 1, #clauses do redis.call('DEL', result .. ':' .. i) end
local sample = redis.call('ZRANGE', result, 0, tonumber(ARGV[3]) - 1)
return ok({count = redis.call('ZCARD', result), sample = sample})
