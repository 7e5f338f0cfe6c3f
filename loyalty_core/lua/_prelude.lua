-- Prepended to every script by loyalty_core/redis_store/scripts.py.
-- Conventions: every script returns a JSON object with ok=true|false (never a bare nil);
-- a script that changes state checks its idempotency key first and stores its result there.

local function ok(result)
  result = result or {}
  result.ok = true
  return cjson.encode(result)
end

local function fail(code, result)
  result = result or {}
  result.ok = false
  result.error = code
  return cjson.encode(result)
end

-- The stored answer of an operation already applied, or false.
local function replayed(op_key)
  return redis.call('GET', op_key)
end

-- Store the answer under the operation's key so a retry gets it back unchanged.
local function remember(op_key, ttl_seconds, answer)
  redis.call('SET', op_key, answer, 'EX', ttl_seconds)
  return answer
end

-- Append a versioned domain event to the member's outbox (relayed to the stream afterwards); returns the event
-- as stored, for a script that hands it back so its caller can relay it without reading the outbox.
local function emit(outbox_key, event_id, event_type, member_id, occurred_at, data)
  local event = {event_id = event_id, type = event_type, version = 1, member_id = member_id,
                 occurred_at = occurred_at, data = data or {}}
  local body = cjson.encode(event)
  redis.call('HSETNX', outbox_key, event_id, body)
  return body
end
