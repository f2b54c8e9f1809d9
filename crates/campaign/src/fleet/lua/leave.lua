-- This process is done with the campaign: drop its presence.
-- KEYS[1] marker (unused), KEYS[2] processes; ARGV[1] process id
redis.call('ZREM', KEYS[2], ARGV[1])
return 'ok'
