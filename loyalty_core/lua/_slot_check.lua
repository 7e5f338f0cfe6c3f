-- Prepended (before _prelude.lua) when Scripts.check_slots is on, as in the tests: every key a command of the
-- script names, those built at run time included, must hash to the slot of the script's first key. A cluster
-- node only refuses keys of slots it does not serve; a key of another slot on the same node would pass there
-- and break once the slots move.
local cluster_checked_redis = redis
local checked_slot = nil

local function crc16(text)
  local crc = 0
  for i = 1, #text do
    crc = bit.bxor(crc, bit.lshift(string.byte(text, i), 8))
    for _ = 1, 8 do
      if bit.band(crc, 0x8000) ~= 0 then
        crc = bit.band(bit.bxor(bit.lshift(crc, 1), 0x1021), 0xFFFF)
      else
        crc = bit.band(bit.lshift(crc, 1), 0xFFFF)
      end
    end
  end
  return crc
end

local function key_slot(key)
  local open = string.find(key, '{', 1, true)
  if open then
    local close = string.find(key, '}', open + 1, true)
    if close and close > open + 1 then key = string.sub(key, open + 1, close - 1) end
  end
  return crc16(key) % 16384
end

local function check_key(key)
  local slot = key_slot(tostring(key))
  checked_slot = checked_slot or slot
  if slot ~= checked_slot then
    error('script touches a key of another cluster slot: ' .. tostring(key) .. ' (slot ' .. slot .. ', not ' ..
          checked_slot .. ')')
  end
end

local KEYLESS = {TIME = true}
local ALL_KEYS = {DEL = true, EXISTS = true, UNLINK = true, MGET = true, SUNIONSTORE = true, SINTERSTORE = true,
                  SDIFFSTORE = true, SUNION = true, SINTER = true, SDIFF = true}
local NUMKEYS_AFTER_DESTINATION = {ZINTERSTORE = true, ZUNIONSTORE = true, ZDIFFSTORE = true}
local KEY_AFTER_SUBCOMMAND = {XINFO = true, XGROUP = true, OBJECT = true, MEMORY = true}

local function check_command(command, ...)
  local args = {...}
  local name = string.upper(tostring(command))
  if KEYLESS[name] then return end
  if ALL_KEYS[name] then
    for i = 1, #args do check_key(args[i]) end
  elseif NUMKEYS_AFTER_DESTINATION[name] then
    check_key(args[1])
    for i = 3, 2 + tonumber(args[2]) do check_key(args[i]) end
  elseif KEY_AFTER_SUBCOMMAND[name] then
    if args[2] then check_key(args[2]) end
  elseif name == 'ZRANGESTORE' or name == 'RENAME' or name == 'SMOVE' or name == 'LMOVE' or name == 'COPY' then
    check_key(args[1])
    check_key(args[2])
  elseif args[1] ~= nil then
    check_key(args[1])
  end
end

for i = 1, #KEYS do check_key(KEYS[i]) end

local redis = setmetatable({
  call = function(...) check_command(...) return cluster_checked_redis.call(...) end,
  pcall = function(...) check_command(...) return cluster_checked_redis.pcall(...) end,
}, {__index = cluster_checked_redis})
