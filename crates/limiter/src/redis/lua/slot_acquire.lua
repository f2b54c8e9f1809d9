-- redial slot gate: take a call slot as a lease in a sorted set scored by expiry (server ms).
-- KEYS[1] leases (zset), KEYS[2] limit hash (fields limit, created; no limit field: at max)
-- ARGV[1] member, ARGV[2] lease ms, ARGV[3] configured max
-- Reply: {taken 0/1, leases held fleet-wide, limit, ms until the earliest lease expires}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit')) or max
if limit > max then limit = max end
local held = redis.call('ZCARD', KEYS[1])
if held < limit then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], lease)
  return { 1, held + 1, limit, 0 }
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local next_free = lease
if first[2] then next_free = tonumber(first[2]) - now end
return { 0, held, limit, next_free }
