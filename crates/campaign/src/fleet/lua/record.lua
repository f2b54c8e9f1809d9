-- Record a contact's state in the journal, only while this process still holds its claim
-- (the fence against a process that stalled past its claim and was taken over).
-- KEYS[1] marker, KEYS[2] stream, KEYS[3] journal
-- ARGV[1] campaign id, ARGV[2] run, ARGV[3] process id, ARGV[4] entry id, ARGV[5] deliveries,
-- ARGV[6] contact key, ARGV[7] state (JSON)
-- Reply: 'ok' | 'lost' | 'ended' | 'gone' | 'taken'
local bad = check_campaign()
if bad then return bad end
local o = owns(KEYS[2], 'run:' .. ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if o then return o end
redis.call('HSET', KEYS[3], ARGV[6], ARGV[7])
return 'ok'
