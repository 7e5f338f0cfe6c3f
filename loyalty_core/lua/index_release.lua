-- Delete a one-key index entry only if it still points at the given member.
-- KEYS[1] index key   ARGV[1] member_id
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return ok({released = true})
end
return ok({released = false})
