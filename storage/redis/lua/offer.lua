-- Offers: made, answered and expired, each one call (ARGV[1] names it) that checks and
-- writes, so two hubs can never offer one ticket twice or take an agent past capacity.
--
-- {P}:of:<id>          hash: id, ticket, agent, queue, channel, state, created, deadline,
--                      answered
-- {P}:of:<id>:why      string: its explanation (JSON list)
-- {P}:offers           zset: open offers, by id
-- {P}:ag:<name>:offers zset: an agent's open offers, by id
-- {P}:deadlines        zset: open offers, by deadline (expiry claims them here)
-- {P}:t:<id>           its field `offer`: the ticket's open offer
-- {P}:t:<id>:declined  set: agents who rejected it or let an offer of it expire
-- Replies a list {"conflict", why} when a check fails (nothing is written).
local op = ARGV[1]

local function conflict(why)
  return {'conflict', why}
end

if op == 'make' then
  -- ARGV: ticket, agent, queue, channel, deadline, explanation (JSON), deadline as text
  -- for the record, now.
  local ticket, agent, queue, channel = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
  local deadline, explanation, deadline_text, now = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
  local state = ticket_state(ticket)
  if not state then
    return conflict('ticket ' .. ticket .. ' does not exist')
  end
  if state.queue ~= queue then
    return conflict('ticket ' .. ticket .. ' is in queue ' .. state.queue .. ' now')
  end
  if not waiting(state) then
    return conflict('ticket ' .. ticket .. ' is held by ' .. tostring(state.assignee or 'None')
                    .. ' or ' .. state.status)
  end
  if state.offer then
    return conflict('ticket ' .. ticket .. ' is offered to someone already')
  end
  local person = redis.call('HMGET', k('ag', agent), 'presence', 'capacity')
  if not person[1] then
    return conflict('agent ' .. agent .. ' does not exist')
  end
  if person[1] ~= 'online' then
    return conflict('agent ' .. agent .. ' is ' .. person[1])
  end
  local limit = tonumber(cjson.decode(person[2])[channel]) or 0
  local load = tonumber(redis.call('HGET', k('load', agent), channel) or 0)
  if load >= limit then
    return conflict('agent ' .. agent .. ' is at capacity on ' .. channel .. ' (' .. load .. ')')
  end
  local id = redis.call('HINCRBY', k('ids'), 'offer', 1)
  redis.call('HSET', k('of', id), 'id', id, 'ticket', ticket, 'agent', agent, 'queue', queue,
             'channel', channel, 'state', 'open', 'created', now, 'deadline', deadline)
  redis.call('SET', k('of', id, 'why'), explanation)
  redis.call('HSET', k('t', ticket), 'offer', id)
  redis.call('ZADD', k('offers'), id, id)
  redis.call('ZADD', k('ag', agent, 'offers'), id, id)
  redis.call('ZADD', k('deadlines'), deadline, id)
  add_load(agent, channel, 1)
  redis.call('HSET', k('ag', agent), 'offered', now)
  record(ticket, 'offered', 'rule:assignment', now,
         {offer_id = id, agent = agent, deadline = deadline_text,
          explanation = cjson.decode(explanation)})
  return offer_reply(id)

elseif op == 'answer' then
  -- ARGV: offer, agent, now, "1" to accept. Replies the offer; nil for an unknown offer;
  -- {"conflict", why} or {"expired", deadline}.
  local id, agent, now, accept = ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1'
  local offer = redis.call('HMGET', k('of', id), 'agent', 'state', 'deadline', 'ticket')
  if not offer[1] then
    return false
  end
  if offer[1] ~= agent then
    return conflict('offer ' .. id .. ' is ' .. offer[1] .. "'s, not " .. agent .. "'s")
  end
  if offer[2] ~= 'open' then
    return conflict('offer ' .. id .. ' is ' .. offer[2])
  end
  if tonumber(offer[3]) <= tonumber(now) then
    return {'expired', offer[3]}
  end
  local ticket = offer[4]
  local state = ticket_state(ticket)
  if not (state and waiting(state)) then  -- changed by a hub that kept no offers
    return conflict('ticket ' .. ticket .. ' no longer waits')
  end
  if not accept then
    local ended = end_offer(id, 'rejected', now)
    record(ticket, 'offer_rejected', 'agent:' .. agent, now,
           {offer_id = tonumber(id), agent = agent})
    return ended
  end
  local ended = end_offer(id, 'accepted', now)
  -- The ticket waits (a change that stops it ends its offer): it is the agent's now, and a
  -- new one opens.
  local before = ticket_state(ticket)
  local set = {'updated', now, 'assignee', agent}
  if before.status == 'new' then
    set[#set + 1], set[#set + 2] = 'status', 'open'
  end
  change_ticket(ticket, set, {}, before)
  local actor = 'agent:' .. agent
  if before.status == 'new' then
    record(ticket, 'status', actor, now, {from = 'new', to = 'open'})
  end
  record(ticket, 'assigned', actor, now,
         {from = cjson.null, to = agent, offer_id = tonumber(id),
          explanation = cjson.decode(redis.call('GET', k('of', id, 'why')))})
  redis.call('HSET', k('ag', agent), 'assigned', now)
  return ended

elseif op == 'expire' then
  -- ARGV: now, limit. Open offers past their deadline end `expired` (the clock's) and their
  -- agents go away; each is claimed by exactly one call. Replies the offers.
  local now = ARGV[2]
  local limit = tonumber(ARGV[3]) or 1
  if limit ~= limit then  -- NaN
    limit = 1
  end
  limit = math.min(math.max(math.floor(limit), 1), 1000)
  local ended = {}
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', k('deadlines'), '-inf', now, 'LIMIT', 0,
                                 limit)) do
    local offer = end_offer(id, 'expired', now)
    local ticket, agent = unpack(redis.call('HMGET', k('of', id), 'ticket', 'agent'))
    if redis.call('HGET', k('ag', agent), 'presence') == 'online' then
      redis.call('HSET', k('ag', agent), 'presence', 'away')
    end
    record(ticket, 'offer_timed_out', 'clock', now, {offer_id = tonumber(id), agent = agent})
    ended[#ended + 1] = offer
  end
  return ended
end
return redis.error_reply('offer: unknown operation ' .. tostring(op))
