-- What the journal holds for one contact.
-- KEYS[1] marker, KEYS[2] journal
-- ARGV[1] campaign id, ARGV[2] run, ARGV[3] contact key
-- Reply: {'ok'} | {'ok', state JSON} | {'lost'} | {'ended'}
local bad = check_campaign()
if bad then return {bad} end
local v = redis.call('HGET', KEYS[2], ARGV[3])
if v then return {'ok', v} end
return {'ok'}
