-- Depth and age of every queue that holds live tickets.
-- Replies {queue, waiting, open, oldest waiting created time or ""} per queue.
local open = redis.call('HGETALL', k('open'))
local stats = {}
for i = 1, #open, 2 do
  local queue, waiting, oldest = open[i], 0, nil
  for rank = 0, 3 do
    local key = k('w', queue, rank)
    waiting = waiting + redis.call('ZCARD', key)
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]
    if first and (not oldest or tonumber(first) < tonumber(oldest)) then
      oldest = first
    end
  end
  stats[#stats + 1] = {queue, waiting, tonumber(open[i + 1]), oldest or ''}
end
return stats
