-- Hand the most pressing waiting ticket of a queue (priority, then age) that nobody is
-- offered, or the ticket asked for if it is such a one, to one agent; a new ticket becomes
-- open. ARGV: queue, assignee, now, ticket id ("" for the most pressing).
-- Replies the ticket, or nil when none waits or the assignee is an agent at capacity on
-- the ticket's channel.
-- Only tickets on offer are passed over, so the walk looks at no more members than there
-- are open offers, plus one: it ends whatever the sets hold.
local queue, assignee, now, wanted = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local CHUNK = 100

local function pick()
  if wanted ~= '' then
    local state = ticket_state(wanted)
    if state and state.queue == queue and waiting(state) and not state.offer then
      return wanted, state
    end
    return nil
  end
  local budget = redis.call('ZCARD', k('offers')) + 1
  for rank = 3, 0, -1 do
    local key, start = k('w', queue, rank), 0
    for _ = 1, math.ceil(budget / CHUNK) do
      local members = redis.call('ZRANGE', key, start, start + math.min(CHUNK, budget) - 1)
      for _, member in ipairs(members) do
        local state = ticket_state(tonumber(member))
        if not state.offer then
          return tonumber(member), state
        end
        budget = budget - 1
      end
      if #members < CHUNK or budget <= 0 then
        break
      end
      start = start + #members
    end
  end
  return nil
end

local id, before = pick()
if not id then
  return false
end
local agent = k('ag', assignee)
local capacity = redis.call('HGET', agent, 'capacity')
if capacity then
  local limit = tonumber(cjson.decode(capacity)[before.channel]) or 0
  local load = tonumber(redis.call('HGET', k('load', assignee), before.channel) or 0)
  if load >= limit then
    return false
  end
  redis.call('HSET', agent, 'assigned', now)
end
local moves = {}
if before.status == 'new' then
  moves[1] = {'status', 'status', 'new', 'open'}
end
moves[#moves + 1] = {'assigned', 'assignee', false, assignee}
apply_moves(id, before, moves, 'agent:' .. assignee, now)
return read_ticket(id)
