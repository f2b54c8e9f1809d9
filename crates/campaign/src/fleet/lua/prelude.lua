-- redial fleet campaign: shared by every work-queue and journal script (prepended to each).
-- KEYS[1] is always the campaign marker hash; ARGV[1] the campaign id, ARGV[2] the run.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- nil when the campaign and its run are this process's; else the reply to give:
-- 'lost' (the marker is gone or says lost: Redis lost the campaign's state; a tombstone is
-- left so that no process starts it afresh) or 'ended' (another run of it started).
local function check_campaign()
  local m = redis.call('HMGET', KEYS[1], 'id', 'state', 'run')
  if not m[2] then
    redis.call('HSET', KEYS[1], 'state', 'lost', 'lost_at', now_ms())
    return 'lost'
  end
  if m[2] == 'lost' or m[1] ~= ARGV[1] then return 'lost' end
  if m[3] ~= ARGV[2] then return 'ended' end
  return nil
end

-- nil when `consumer` holds stream entry `id` with this delivery count; else 'gone' (not
-- pending: acknowledged) or 'taken' (another process took it over, or it was re-delivered).
local function owns(stream, group, consumer, id, delivery)
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  if #p == 0 then return 'gone' end
  if p[1][2] ~= consumer or tonumber(p[1][4]) ~= tonumber(delivery) then return 'taken' end
  return nil
end

