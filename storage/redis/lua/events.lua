-- The record (common.lua's `record`). ARGV: "ticket", id -> the ticket's events (JSON),
-- oldest first (a purged ticket's too), or nil when there is no such ticket; "after", seq,
-- limit -> {ticket, event JSON} of every ticket's events numbered above seq, in order (the
-- stream's entries point into the tickets' lists); "last" -> the newest seq (0 before the
-- first); "at", time -> the seq of the last event stamped before that time (a binary search
-- of the record: events are numbered in commit order and stamped with the hub's clock, so
-- times increase with seqs).
local function at_of(seq)
  local entry = redis.call('XRANGE', k('events'), seq .. '-1', seq .. '-1')[1]
  local event = redis.call('LINDEX', k('t', entry[2][2], 'ev'), entry[2][4])
  local data = cjson.decode(event)
  return tonumber(data.t or data.at)  -- one-letter fields; earlier hubs wrote `at`
end
if ARGV[1] == 'last' then
  return tonumber(redis.call('HGET', k('ids'), 'event') or '0')
end
if ARGV[1] == 'at' then
  local target = tonumber(ARGV[2])
  local low, high = 1, tonumber(redis.call('HGET', k('ids'), 'event') or '0') + 1
  while low < high do  -- the first seq stamped at or after the target, in [low, high]
    local middle = math.floor((low + high) / 2)
    if at_of(middle) < target then low = middle + 1 else high = middle end
  end
  return low - 1
end
if ARGV[1] == 'ticket' then
  if redis.call('EXISTS', k('t', ARGV[2]), k('t', ARGV[2], 'ev')) == 0 then
    return false
  end
  return redis.call('LRANGE', k('t', ARGV[2], 'ev'), 0, -1)
end
local from = string.format('%d-0', tonumber(ARGV[2]) + 1)
local entries = redis.call('XRANGE', k('events'), from, '+', 'COUNT', ARGV[3])
local events = {}
for i, entry in ipairs(entries) do
  local ticket, position = entry[2][2], entry[2][4]
  events[i] = {tonumber(ticket), redis.call('LINDEX', k('t', ticket, 'ev'), position)}
end
return events
