-- Append one batch of the contact list to the stream (the loader only; idempotent by batch).
-- KEYS[1] marker, KEYS[2] stream
-- ARGV[1] process id, ARGV[2] load lease ms, ARGV[3] batch index (from 0), ARGV[4..] entries
-- Reply: 'ok' | 'notloader' (another process took the load over, or the marker is gone)
local m = redis.call('HMGET', KEYS[1], 'state', 'loader', 'batches')
if m[1] ~= 'loading' or m[2] ~= ARGV[1] then return 'notloader' end
local batch = tonumber(ARGV[3])
if batch < tonumber(m[3]) then return 'ok' end
for i = 4, #ARGV do
  redis.call('XADD', KEYS[2], '*', 'c', ARGV[i])
end
redis.call('HSET', KEYS[1], 'batches', batch + 1, 'load_until', now_ms() + tonumber(ARGV[2]))
return 'ok'
