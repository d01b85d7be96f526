-- Depth and age of every queue that holds live tickets, or of the one queue in ARGV[1].
-- No ticket is read: the writing scripts keep the counts in the same script as each change
-- (common.lua's reindex): the open hash, and the waiting sets, whose sizes Redis keeps; the
-- oldest waiting ticket is the first member of a waiting set; running tickets at risk are
-- counted in the risk hash.
-- Replies {queue, waiting, open, oldest waiting created time or "", at risk} per queue.
local function depth(queue, open)
  local waiting, oldest = 0, nil
  for rank = 0, 3 do
    local key = k('w', queue, rank)
    waiting = waiting + redis.call('ZCARD', key)
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]
    if first and (not oldest or tonumber(first) < tonumber(oldest)) then
      oldest = first
    end
  end
  local risk = tonumber(redis.call('HGET', k('risk'), queue) or 0)
  return {queue, waiting, open, oldest or '', risk}
end

if ARGV[1] then
  return {depth(ARGV[1], tonumber(redis.call('HGET', k('open'), ARGV[1]) or 0))}
end
local open = redis.call('HGETALL', k('open'))
local stats = {}
for i = 1, #open, 2 do
  stats[#stats + 1] = depth(open[i], tonumber(open[i + 1]))
end
return stats
