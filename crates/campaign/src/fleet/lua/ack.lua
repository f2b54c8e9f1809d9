-- A contact's outcome is durable: acknowledge it (once) and count it done.
-- KEYS[1] marker, KEYS[2] stream
-- ARGV[1] campaign id, ARGV[2] run, ARGV[3] process id, ARGV[4] entry id, ARGV[5] deliveries
-- Reply: 'ok' | 'lost' | 'ended' | 'gone' | 'taken'
local bad = check_campaign()
if bad then return bad end
local g = 'run:' .. ARGV[2]
local o = owns(KEYS[2], g, ARGV[3], ARGV[4], ARGV[5])
if o then return o end
if redis.call('XACK', KEYS[2], g, ARGV[4]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'done', 1)
end
return 'ok'
