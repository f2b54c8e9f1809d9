-- The list is in the stream: open run 1 and let the others join.
-- KEYS[1] marker, KEYS[2] stream, KEYS[3] processes
-- ARGV[1] process id, ARGV[2] entries loaded, ARGV[3] presence ms
-- Reply: 'ok' | 'notloader'
local m = redis.call('HMGET', KEYS[1], 'state', 'loader')
if m[1] == 'loaded' then return 'ok' end
if m[1] ~= 'loading' or m[2] ~= ARGV[1] then return 'notloader' end
redis.pcall('XGROUP', 'CREATE', KEYS[2], 'run:1', '0', 'MKSTREAM')
redis.call('HSET', KEYS[1], 'state', 'loaded', 'total', ARGV[2], 'run', 1, 'done', 0)
redis.call('HDEL', KEYS[1], 'loader', 'load_until', 'batches')
redis.call('ZADD', KEYS[3], now_ms() + tonumber(ARGV[3]), ARGV[1])
return 'ok'
