-- A manager for the community (by openid), once.
-- KEYS[1] the community's managers
-- ARGV[1] openid
return ok({added = redis.call('SADD', KEYS[1], ARGV[1]) == 1})
