-- A mass-send job's report against the broadcast it was for, once per job.
-- KEYS[1] the broadcast's reports  ARGV[1] msg_id  ARGV[2] the counts (JSON)
return ok({first = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1})
