-- redial pacer: the server answered rate_limit_exceeded for a request these buckets paced.
-- KEYS[1..n] bucket hashes, KEYS[n+1..2n] their probe tokens
-- ARGV[1] n, ARGV[2] Retry-After ms (-1: none), ARGV[3] state ttl ms
-- ARGV[4 + 5(i-1) ..] per bucket: ceiling, burst, adaptive (0/1), beta, min_rate
-- Reply: per bucket {rate (milli req/s), how far the pause was extended (ms)}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now_s = now / 1000000
local n = tonumber(ARGV[1])
local retry_after = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local reply = {}
for i = 1, n do
  local b = 3 + (i - 1) * 5
  local ceiling = tonumber(ARGV[b + 1])
  local burst = tonumber(ARGV[b + 2])
  local h = redis.call('HMGET', KEYS[i], 'tat', 'rate', 'pause', 'mr')
  local rate = tonumber(h[2]) or ceiling
  if rate > ceiling then rate = ceiling end
  local pause = tonumber(h[3]) or 0
  local extended = 0
  if retry_after >= 0 then
    local untl = now + retry_after * 1000
    local from = pause
    if from < now then from = now end
    if untl > from then
      extended = untl - from
      pause = untl
      -- A pause is never shortened; at its end one probe goes first.
      redis.call('HSET', KEYS[i], 'pause', untl, 'probe', 1)
      redis.call('DEL', KEYS[n + i])
    end
  end
  if ARGV[b + 3] == '1' then
    -- CubicState::throttle: beta x min(measured, current), clamped to [floor, ceiling].
    local mr = tonumber(h[4]) or 0
    local base = rate
    if mr > 0 and mr < rate then base = mr end
    local beta = tonumber(ARGV[b + 4])
    local floor = tonumber(ARGV[b + 5])
    if floor > ceiling then floor = ceiling end
    rate = base * beta
    if rate < floor then rate = floor end
    if rate > ceiling then rate = ceiling end
    redis.call('HSET', KEYS[i], 'rate', rate, 'lmax', base, 'tthr', now_s, 'rec', 1)
    -- A throttle never hands out a fresh burst.
    local drained = now + burst * 1000000 / rate
    local tat = tonumber(h[1]) or 0
    if tat < drained then redis.call('HSET', KEYS[i], 'tat', drained) end
  end
  local keep = ttl
  if pause > now then keep = keep + math.ceil((pause - now) / 1000) end
  if redis.call('PTTL', KEYS[i]) < keep then redis.call('PEXPIRE', KEYS[i], keep) end
  reply[i] = { math.floor(rate * 1000), math.floor(extended / 1000) }
end
return reply
