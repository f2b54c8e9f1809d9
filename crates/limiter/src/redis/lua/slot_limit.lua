-- redial slot gate: the fleet's limit after concurrent_call_limit (ARGV[1] = 'hit') or after a
-- successful create (ARGV[1] = 'created'), AIMD as in the in-process gate.
-- KEYS[1] leases (zset), KEYS[2] limit hash
-- ARGV[1] event, ARGV[2] configured max, ARGV[3] increase_after
-- Reply: {limit, lowered 0/1}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max = tonumber(ARGV[2])
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit')) or max
if limit > max then limit = max end
if ARGV[1] == 'hit' then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  local held = redis.call('ZCARD', KEYS[1])
  if held < 1 then held = 1 end
  local lowered = 0
  if held < limit then
    limit = held
    lowered = 1
  end
  redis.call('HSET', KEYS[2], 'limit', limit, 'created', 0)
  return { limit, lowered }
end
if limit >= max then
  redis.call('DEL', KEYS[2])
  return { max, 0 }
end
local created = redis.call('HINCRBY', KEYS[2], 'created', 1)
if created >= tonumber(ARGV[3]) then
  limit = limit + 1
  if limit >= max then
    redis.call('DEL', KEYS[2])
  else
    redis.call('HSET', KEYS[2], 'limit', limit, 'created', 0)
  end
end
return { limit, 0 }
