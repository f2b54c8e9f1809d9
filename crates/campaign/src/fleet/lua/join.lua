-- Join a campaign, or create it and load its list (the first process), or start its next run.
-- KEYS[1] marker, KEYS[2] stream, KEYS[3] journal, KEYS[4] processes (zset: id -> expiry ms)
-- ARGV[1] a new campaign id (used when creating), ARGV[2] process id, ARGV[3] agent,
-- ARGV[4] contacts file name, ARGV[5] contacts bytes, ARGV[6] contacts hash,
-- ARGV[7] load lease ms, ARGV[8] presence ms, ARGV[9] unix seconds (for people)
-- Reply: {'load', id} | {'wait'} | {'joined', id, run, total, new_run} | {'lost'}
--      | {'mismatch', what, theirs}
local now = now_ms()
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then
    -- The marker went away but the list or the journal did not: never start afresh.
    redis.call('HSET', KEYS[1], 'state', 'lost', 'lost_at', now)
    return {'lost'}
  end
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'agent', ARGV[3], 'contacts', ARGV[4],
    'bytes', ARGV[5], 'hash', ARGV[6], 'created', ARGV[9], 'state', 'loading',
    'loader', ARGV[2], 'load_until', now + tonumber(ARGV[7]), 'batches', 0)
  return {'load', ARGV[1]}
end
if state == 'lost' then return {'lost'} end
local m = redis.call('HMGET', KEYS[1], 'id', 'agent', 'bytes', 'hash', 'load_until', 'run',
  'total', 'done', 'contacts')
if m[2] ~= ARGV[3] then return {'mismatch', 'agent', m[2]} end
if m[3] ~= ARGV[5] or m[4] ~= ARGV[6] then
  return {'mismatch', 'contacts', m[9] .. ' (' .. m[3] .. ' bytes)'}
end
if state == 'loading' then
  if tonumber(m[5]) < now then
    -- The loader stopped renewing its lease (it died): load again from the start.
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[1], 'loader', ARGV[2], 'load_until', now + tonumber(ARGV[7]),
      'batches', 0)
    return {'load', m[1]}
  end
  return {'wait'}
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local run = tonumber(m[6])
local new_run = 0
if tonumber(m[8]) >= tonumber(m[7]) or redis.call('ZCARD', KEYS[4]) == 0 then
  -- The run is over, or nobody works on it any more: a rerun goes over the whole list again
  -- (the journal tells what is finished).
  redis.pcall('XGROUP', 'DESTROY', KEYS[2], 'run:' .. run)
  run = run + 1
  redis.call('XGROUP', 'CREATE', KEYS[2], 'run:' .. run, '0')
  redis.call('HSET', KEYS[1], 'run', run, 'done', 0)
  new_run = 1
end
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[8]), ARGV[2])
return {'joined', m[1], run, tonumber(m[7]), new_run}
