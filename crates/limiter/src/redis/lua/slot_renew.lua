-- redial slot gate: renew this process's leases (re-adding any that a Redis restart lost).
-- KEYS[1] leases (zset); ARGV[1] lease ms, ARGV[2..] members
-- Reply: leases held fleet-wide
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
end
if #ARGV > 1 then redis.call('PEXPIRE', KEYS[1], lease) end
return redis.call('ZCARD', KEYS[1])
