-- redial pacer: a request these buckets paced succeeded.
-- Clears this process's probe (the pause is over: release by the bucket) and moves a
-- recovering adaptive rate along the cubic curve (CubicState::success).
-- KEYS[1..n] bucket hashes, KEYS[n+1..2n] their probe tokens
-- ARGV[1] n, ARGV[2] process id
-- ARGV[3 + 6(i-1) ..] per bucket: ceiling, adaptive (0/1), beta, scale, min_rate, burst
-- Reply: per bucket {rate (milli req/s), recovering 0/1}
local t = redis.call('TIME')
local now_s = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = tonumber(ARGV[1])
local reply = {}
for i = 1, n do
  local b = 2 + (i - 1) * 6
  local ceiling = tonumber(ARGV[b + 1])
  local h = redis.call('HMGET', KEYS[i], 'rate', 'rec', 'lmax', 'tthr', 'tat')
  local rate = tonumber(h[1]) or ceiling
  if rate > ceiling then rate = ceiling end
  if redis.call('GET', KEYS[n + i]) == ARGV[2] then
    -- The probe answered: release the waiters at the bucket's rate, without the burst that
    -- built up while the probe was out.
    redis.call('DEL', KEYS[n + i])
    redis.call('HDEL', KEYS[i], 'probe')
    local t_now = tonumber(t[1]) * 1000000 + tonumber(t[2])
    local drained = t_now + tonumber(ARGV[b + 6]) * 1000000 / rate
    if (tonumber(h[5]) or 0) < drained then redis.call('HSET', KEYS[i], 'tat', drained) end
  end
  local rec = 0
  if h[2] == '1' then
    if ARGV[b + 2] == '1' then
      local beta = tonumber(ARGV[b + 3])
      local scale = tonumber(ARGV[b + 4])
      local floor = tonumber(ARGV[b + 5])
      if floor > ceiling then floor = ceiling end
      local lmax = tonumber(h[3]) or rate
      local tthr = tonumber(h[4]) or now_s
      local window = (lmax * (1 - beta) / scale) ^ (1 / 3)
      local dt = now_s - tthr - window
      rate = scale * dt * dt * dt + lmax
      if rate < floor then rate = floor end
      if rate >= ceiling then
        rate = ceiling
        redis.call('HDEL', KEYS[i], 'rate', 'rec')
      else
        rec = 1
        redis.call('HSET', KEYS[i], 'rate', rate)
      end
    else
      rate = ceiling
      redis.call('HDEL', KEYS[i], 'rate', 'rec')
    end
  end
  reply[i] = { math.floor(rate * 1000), rec }
end
return reply
