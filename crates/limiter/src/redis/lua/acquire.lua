-- redial pacer: take one cell from every bucket that paces a request, or none (GCRA on server time).
-- KEYS[1..n]      bucket hashes (fields tat, rate, pause, probe, rec, mb, mc, mr, lmax, tthr)
-- KEYS[n+1..2n]   probe tokens of the same buckets
-- KEYS[2n+1]      halts version counter
-- ARGV[1] n, ARGV[2] probe token ttl ms, ARGV[3] process id, ARGV[4] state ttl ms,
-- ARGV[5] how long to wait, at most, before asking again while a probe is out (ms)
-- ARGV[6 + 4(i-1) ..] per bucket: ceiling (req/s), burst, adaptive (0/1), smooth
-- Reply: {allowed 0/1, wait us, halts version, flags, rate of bucket 1 (milli req/s), ...}
--   flags: bit 0 paused (Retry-After or probe out); bit 2i-1: bucket i's adaptive rate is
--   recovering; bit 2i: this request took bucket i's probe token
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = tonumber(ARGV[1])
local wait = 0
local flags = 0
local st = {}
for i = 1, n do
  local b = 5 + (i - 1) * 4
  local ceiling = tonumber(ARGV[b + 1])
  local burst = tonumber(ARGV[b + 2])
  local h = redis.call('HMGET', KEYS[i], 'tat', 'rate', 'pause', 'probe', 'rec')
  local rate = tonumber(h[2]) or ceiling
  if rate > ceiling then rate = ceiling end
  local interval = 1000000 / rate
  local tat = tonumber(h[1]) or now
  if tat < now then tat = now end
  local s = { rate = rate, interval = interval, burst = burst, tat = tat + interval, probe = false }
  st[i] = s
  if h[5] == '1' then flags = flags + 2 ^ (2 * i - 1) end
  local pause = tonumber(h[3]) or 0
  if pause > now then
    if pause - now > wait then wait = pause - now end
    if flags % 2 == 0 then flags = flags + 1 end
  elseif h[4] == '1' then
    local ttl = redis.call('PTTL', KEYS[n + i])
    if ttl > 0 then
      -- Another request is the probe: wait for its answer (or its token to lapse).
      local w = ttl
      if w > tonumber(ARGV[5]) then w = tonumber(ARGV[5]) end
      if w * 1000 > wait then wait = w * 1000 end
      if flags % 2 == 0 then flags = flags + 1 end
    else
      s.probe = true
    end
  end
  -- Floating-point slack: under a microsecond late counts as on time (else 1e6 / rate
  -- rounding could answer "wait 1 us" forever).
  local over = s.tat - now - burst * interval
  if over >= 1 and over > wait then wait = over end
end
local hv = tonumber(redis.call('GET', KEYS[2 * n + 1])) or 0
local reply = { 0, math.ceil(wait), hv, 0 }
for i = 1, n do reply[4 + i] = math.floor(st[i].rate * 1000) end
if wait > 0 then
  reply[4] = flags
  return reply
end
local ttl = tonumber(ARGV[4])
for i = 1, n do
  local b = 5 + (i - 1) * 4
  local s = st[i]
  local tat = s.tat
  if s.probe then
    -- The first request after a pause: it goes alone, the bucket starts drained behind it.
    redis.call('SET', KEYS[n + i], ARGV[3], 'PX', ARGV[2])
    local drained = now + s.burst * s.interval
    if drained > tat then tat = drained end
    flags = flags + 2 ^ (2 * i)
  end
  redis.call('HSET', KEYS[i], 'tat', tat)
  if ARGV[b + 3] == '1' then
    -- CubicState::record_send: count sends, fold into the smoothed rate every half second.
    local m = redis.call('HMGET', KEYS[i], 'mb', 'mc', 'mr')
    local now_s = now / 1000000
    local cur = math.floor(now_s / 0.5) * 0.5
    local mb = tonumber(m[1]) or cur
    local mc = (tonumber(m[2]) or 0) + 1
    local mr = tonumber(m[3]) or 0
    if cur > mb then
      local smooth = tonumber(ARGV[b + 4])
      mr = (mc / (cur - mb)) * smooth + mr * (1 - smooth)
      mc = 0
      mb = cur
    end
    redis.call('HSET', KEYS[i], 'mb', mb, 'mc', mc, 'mr', mr)
  end
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
reply[1] = 1
reply[4] = flags
return reply
