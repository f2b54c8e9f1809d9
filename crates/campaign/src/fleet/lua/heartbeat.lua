-- Renew this process's presence and its claims (resets their idle time; the delivery count
-- is unchanged). Claims another process took over are reported, not taken back.
-- KEYS[1] marker, KEYS[2] stream, KEYS[3] processes
-- ARGV[1] campaign id, ARGV[2] run, ARGV[3] process id, ARGV[4] presence ms,
-- ARGV[5..] entry id, deliveries, entry id, deliveries, ...
-- Reply: {'ok', lost entry ids...} | {'lost'} | {'ended'}
local bad = check_campaign()
if bad then return {bad} end
local g = 'run:' .. ARGV[2]
redis.call('ZADD', KEYS[3], now_ms() + tonumber(ARGV[4]), ARGV[3])
local out = {'ok'}
for i = 5, #ARGV - 1, 2 do
  local o = owns(KEYS[2], g, ARGV[3], ARGV[i], ARGV[i + 1])
  if o then
    if o == 'taken' then table.insert(out, ARGV[i]) end
  else
    redis.call('XCLAIM', KEYS[2], g, ARGV[3], 0, ARGV[i], 'JUSTID')
  end
end
return out
