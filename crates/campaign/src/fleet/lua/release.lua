-- Give a contact back unfinished (this process was stopped before dialling it): another
-- process takes it at once (its idle time is set past the claim timeout).
-- KEYS[1] marker, KEYS[2] stream
-- ARGV[1] campaign id, ARGV[2] run, ARGV[3] process id, ARGV[4] entry id, ARGV[5] deliveries,
-- ARGV[6] idle ms to set
-- Reply: 'ok' | 'lost' | 'ended' | 'gone' | 'taken'
local bad = check_campaign()
if bad then return bad end
local g = 'run:' .. ARGV[2]
local o = owns(KEYS[2], g, ARGV[3], ARGV[4], ARGV[5])
if o then return o end
redis.call('XCLAIM', KEYS[2], g, 'released', 0, ARGV[4], 'IDLE', tonumber(ARGV[6]), 'JUSTID')
return 'ok'
