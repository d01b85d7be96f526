-- An internal note on a ticket's record (never sent). ARGV: ticket id, now, actor, body.
-- Replies the event's seq, or nil when there is no such ticket.
local id = ARGV[1]
if redis.call('EXISTS', k('t', id)) == 0 then
  return false
end
return record(id, 'note', ARGV[3], ARGV[2], {body = ARGV[4]})
