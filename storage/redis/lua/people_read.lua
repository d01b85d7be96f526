-- Reads of agents, tokens and offers, each one call (ARGV[1] names it): a consistent view.
-- The keys are people.lua's and offer.lua's.
local op = ARGV[1]

-- A listing's limit: a whole number from 0 to 1000 (0 for no number at all, or NaN).
local function limit_of(raw)
  local limit = tonumber(raw) or 0
  if limit ~= limit then  -- NaN
    return 0
  end
  return math.min(math.max(math.floor(limit), 0), 1000)
end

local function agent_reply(name)
  local fields = redis.call('HGETALL', k('ag', name))
  if #fields == 0 then
    return false
  end
  return {name, fields, redis.call('HGETALL', k('load', name))}
end

local function offers(key)
  local out = {}
  for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    out[#out + 1] = offer_reply(id)
  end
  return out
end

if op == 'agent' then
  return agent_reply(ARGV[2])

elseif op == 'agents' then
  local out = {}
  for _, name in ipairs(redis.call('SMEMBERS', k('agents'))) do
    out[#out + 1] = agent_reply(name)
  end
  return out

elseif op == 'token' then
  -- ARGV: digest. Replies {token JSON, the agent's roles JSON or nil} or nil.
  local text = redis.call('HGET', k('tokens'), ARGV[2])
  if not text then
    return false
  end
  local name = cjson.decode(text).name
  return {text, redis.call('HGET', k('ag', name), 'roles')}

elseif op == 'offers' then
  -- ARGV: agent ("" for everyone's). Open offers, oldest first.
  if ARGV[2] == '' then
    return offers(k('offers'))
  end
  return offers(k('ag', ARGV[2], 'offers'))

elseif op == 'waiting' then
  -- ARGV: queue, limit. The queue's most pressing waiting tickets nobody is offered:
  -- {id, fields, route JSON, declined by}. Only offered tickets are passed over, so the
  -- walk looks at no more members than the limit plus the open offers.
  local queue = ARGV[2]
  local limit = limit_of(ARGV[3])
  local budget = limit + redis.call('ZCARD', k('offers'))
  local out, CHUNK = {}, 100
  for rank = 3, 0, -1 do
    local key, start = k('w', queue, rank), 0
    while #out < limit and budget > 0 do
      local wanted = math.min(CHUNK, budget)
      local members = redis.call('ZRANGE', key, start, start + wanted - 1)
      for _, member in ipairs(members) do
        local id = tonumber(member)
        budget = budget - 1
        if not redis.call('HGET', k('t', id), 'offer') then
          out[#out + 1] = {id, redis.call('HGETALL', k('t', id)),
                           redis.call('GET', k('t', id, 'r')),
                           redis.call('SMEMBERS', k('t', id, 'declined'))}
          if #out == limit then
            return out
          end
        end
      end
      if #members < wanted then  -- the set ran out; else the budget shrank by `wanted`
        break
      end
      start = start + #members
    end
  end
  return out

elseif op == 'pressing' then
  -- ARGV: queue, limit. The queue's waiting tickets, offered or not, the most pressing
  -- first (priority, then age: its waiting sets' order): {id, fields, route JSON, marks}.
  local queue = ARGV[2]
  local limit = limit_of(ARGV[3])
  local out = {}
  for rank = 3, 0, -1 do
    if #out >= limit then
      break
    end
    for _, member in ipairs(redis.call('ZRANGE', k('w', queue, rank), 0, limit - #out - 1)) do
      local id = tonumber(member)
      out[#out + 1] = {id, redis.call('HGETALL', k('t', id)), redis.call('GET', k('t', id, 'r')),
                       redis.call('GET', k('t', id, 'clk'))}
    end
  end
  return out
end
return redis.error_reply('people_read: unknown operation ' .. tostring(op))
