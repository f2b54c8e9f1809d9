-- Hand this process its next contact: a new one, else one whose process stopped renewing its
-- claim for min_idle (it died or stalled), never one of its own.
-- KEYS[1] marker, KEYS[2] stream
-- ARGV[1] campaign id, ARGV[2] run, ARGV[3] process id, ARGV[4] min idle ms
-- Reply: {'new'|'taken_over', id, deliveries, {field, value, ...}} | {'none', total, done}
--      | {'lost'} | {'ended'}
local bad = check_campaign()
if bad then return {bad} end
local g = 'run:' .. ARGV[2]
local r = redis.call('XREADGROUP', 'GROUP', g, ARGV[3], 'COUNT', 1, 'STREAMS', KEYS[2], '>')
if r and #r[1][2] > 0 then
  local e = r[1][2][1]
  return {'new', e[1], 1, e[2]}
end
local idle = redis.call('XPENDING', KEYS[2], g, 'IDLE', tonumber(ARGV[4]), '-', '+', 100)
for _, p in ipairs(idle) do
  if p[2] ~= ARGV[3] then
    local c = redis.call('XCLAIM', KEYS[2], g, ARGV[3], tonumber(ARGV[4]), p[1])
    if #c > 0 and c[1] then
      local n = redis.call('XPENDING', KEYS[2], g, p[1], p[1], 1)
      return {'taken_over', c[1][1], n[1][4], c[1][2]}
    end
  end
end
local m = redis.call('HMGET', KEYS[1], 'total', 'done')
return {'none', tonumber(m[1]), tonumber(m[2])}
