-- An agent's or supervisor's change of one ticket; nil when there is no such ticket.
-- ARGV: id, now, status, priority, queue, assignee mode (keep/set/clear), assignee, tags json
-- ("" leaves a field as it is).
local id, now = ARGV[1], ARGV[2]
if redis.call('EXISTS', k('t', id)) == 0 then
  return false
end
local set, del = {'updated', now}, {}
local function put(field, value)
  if value ~= '' then
    set[#set + 1], set[#set + 2] = field, value
  end
end
put('status', ARGV[3])
if ARGV[3] == 'resolved' or ARGV[3] == 'closed' then
  put('resolved', now)
elseif ARGV[3] ~= '' then
  del[#del + 1] = 'resolved'
end
put('priority', ARGV[4])
put('queue', ARGV[5])
if ARGV[6] == 'set' then
  put('assignee', ARGV[7])
elseif ARGV[6] == 'clear' then
  del[#del + 1] = 'assignee'
end
put('tags', ARGV[8])
change_ticket(id, set, del)
return read_ticket(id)
