-- Hand the most pressing waiting ticket of a queue (priority, then age) to one agent; a new
-- ticket becomes open. ARGV: queue, assignee, now. Replies the ticket, or nil when none waits.
local queue, assignee, now = ARGV[1], ARGV[2], ARGV[3]
for rank = 3, 0, -1 do
  local first = redis.call('ZRANGE', k('w', queue, rank), 0, 0)[1]
  if first then
    local id = tonumber(first)
    local before = ticket_state(id)
    local moves = {}
    if before.status == 'new' then
      moves[1] = {'status', 'status', 'new', 'open'}
    end
    moves[#moves + 1] = {'assigned', 'assignee', false, assignee}
    apply_moves(id, before, moves, 'agent:' .. assignee, now)
    return read_ticket(id)
  end
end
return false
