-- One more event for a key, if `limit` per sliding `window` allows it: every hub on this
-- Redis counts against the same limit. ARGV: key, limit, window (seconds), now (seconds).
-- Replies 1 (taken, counted) or 0 (the limit is reached; nothing counted).
local key, limit = k('rate', ARGV[1]), tonumber(ARGV[2])
local window, now = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now - window))
if redis.call('ZCARD', key) >= limit then
  return 0
end
local seq = redis.call('HINCRBY', k('ids'), 'rate', 1)
redis.call('ZADD', key, num(now), tostring(seq))
redis.call('EXPIRE', key, math.max(1, math.ceil(window)))  -- forgotten once it cannot count
return 1
