-- redial halts: set (ARGV[1] = 'halt') or clear (ARGV[1] = 'clear') one halted scope.
-- KEYS[1] halts hash (field: scope, value: cause), KEYS[2] version counter
-- ARGV[2] scope, ARGV[3] cause
-- Reply: 1 when the set of halted scopes changed, else 0
local changed
if ARGV[1] == 'halt' then
  changed = redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
else
  changed = redis.call('HDEL', KEYS[1], ARGV[2])
end
if changed == 1 then redis.call('INCR', KEYS[2]) end
return changed
