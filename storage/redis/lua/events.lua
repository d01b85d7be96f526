-- The record (common.lua's `record`). ARGV: "ticket", id -> the ticket's events (JSON),
-- oldest first, or nil when there is no such ticket; "after", seq, limit -> {ticket, event
-- JSON} of every ticket's events numbered above seq, in order (the stream's entries point
-- into the tickets' lists).
if ARGV[1] == 'ticket' then
  if redis.call('EXISTS', k('t', ARGV[2])) == 0 then
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
