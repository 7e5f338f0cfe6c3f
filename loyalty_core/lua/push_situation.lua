-- Read what the planner decides a push on, in one call in the member's slot (changes nothing). It answers Redis's
-- own replies, not JSON: {profile status, push facts (flat field/value), the consent's sends left, caps (flat),
-- the dedup key's score, the push's record}, a missing one as nil; the consent is read only for a push that
-- offers a subscribe message (the only channel it decides).
-- KEYS[1] profile  KEYS[2] push facts  KEYS[3] consents  KEYS[4] caps  KEYS[5] dedup  KEYS[6] pushes
-- ARGV[1] dedup key  ARGV[2] push_id  ARGV[3] the subscribe message's template id ('' for none)
local consent = ARGV[3] ~= '' and redis.call('HGET', KEYS[3], ARGV[3]) or false
return {redis.call('HGET', KEYS[1], 'status'), redis.call('HGETALL', KEYS[2]), consent,
        redis.call('HGETALL', KEYS[4]), redis.call('ZSCORE', KEYS[5], ARGV[1]), redis.call('HGET', KEYS[6], ARGV[2])}
