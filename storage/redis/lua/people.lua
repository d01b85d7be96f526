-- Agents, their tokens and presence: every write one call (ARGV[1] names it), atomic.
--
-- {P}:agents           set: every agent's name
-- {P}:ag:<name>        hash: roles, skills, queues (JSON lists), capacity (JSON channel ->
--                      most held), presence, created, seen, since (online since), offered,
--                      assigned (times)
-- {P}:ag:<name>:offers zset: the agent's open offers, by id
-- {P}:load:<name>      hash: channel -> held + offered (common.lua keeps it)
-- {P}:seen             zset: agents not offline, by their last heartbeat
-- {P}:tokens           hash: digest -> token JSON {id, name, role (null: every role of the
--                      agent), created_at, revoked_at}
local op = ARGV[1]

local function json_list(items)
  if #items == 0 then
    return '[]'
  end
  table.sort(items)
  return cjson.encode(items)
end

local function agent_reply(name)
  return {name, redis.call('HGETALL', k('ag', name)), redis.call('HGETALL', k('load', name))}
end

-- An agent's load counted from what they hold and their open offers. Loads are kept for
-- every assignee, agent or not, but an older hub kept none: a new agent's is counted once,
-- from the assignee's index (a name's whole history: read once, when it becomes an agent).
local function recount(name)
  local load = {}
  for _, id in ipairs(redis.call('ZRANGE', k('ix', 'a', name), 0, -1)) do
    local state = redis.call('HMGET', k('t', id), 'status', 'channel')
    if ACTIVE[state[1]] then
      load[state[2]] = (load[state[2]] or 0) + 1
    end
  end
  for _, id in ipairs(redis.call('ZRANGE', k('ag', name, 'offers'), 0, -1)) do
    local channel = redis.call('HGET', k('of', id), 'channel')
    load[channel] = (load[channel] or 0) + 1
  end
  redis.call('DEL', k('load', name))
  for channel, n in pairs(load) do
    redis.call('HSET', k('load', name), channel, n)
  end
end

-- Create or update an agent. `change`: {roles?, add_roles, skills?, queues?, capacity?}
-- (lists; capacity channel -> n); `defaults` channel -> n, every channel.
local function put(name, change, defaults, now)
  local key = k('ag', name)
  local stored = redis.call('HMGET', key, 'roles', 'capacity')
  if not stored[1] then
    redis.call('HSET', key, 'roles', '[]', 'skills', '[]', 'queues', '[]', 'capacity', '{}',
               'presence', 'offline', 'created', now)
    redis.call('SADD', k('agents'), name)
    recount(name)
  end
  local roles = {}
  for _, role in ipairs(change.roles or cjson.decode(stored[1] or '[]')) do
    roles[role] = true
  end
  for _, role in ipairs(change.add_roles or {}) do
    roles[role] = true
  end
  local listed = {}
  for role in pairs(roles) do
    listed[#listed + 1] = role
  end
  local base = cjson.decode(stored[2] or '{}')
  local wanted = change.capacity or {}
  local capacity = {}
  for channel, default in pairs(defaults) do
    capacity[channel] = wanted[channel] or base[channel] or default
  end
  local set = {'roles', json_list(listed), 'capacity', cjson.encode(capacity)}
  for _, field in ipairs({'skills', 'queues'}) do
    if type(change[field]) == 'table' then
      set[#set + 1], set[#set + 2] = field, json_list(change[field])
    end
  end
  redis.call('HSET', key, unpack(set))
end

-- The agent's open offers end `withdrawn`, recorded as the agent's: they left `online`.
local function withdraw(name, at)
  local ended = {}
  for _, id in ipairs(redis.call('ZRANGE', k('ag', name, 'offers'), 0, -1)) do
    local offer = end_offer(id, 'withdrawn', at)
    local ticket = redis.call('HGET', k('of', id), 'ticket')
    record(ticket, 'offer_withdrawn', 'agent:' .. name, at,
           {offer_id = tonumber(id), agent = name})
    ended[#ended + 1] = offer
  end
  return ended
end

if op == 'put' then
  local name, now = ARGV[2], ARGV[3]
  put(name, cjson.decode(ARGV[4]), cjson.decode(ARGV[5]), now)
  return agent_reply(name)

elseif op == 'presence' then
  -- ARGV: name, presence ("": a heartbeat, the presence as it is), now.
  local name, presence, now = ARGV[2], ARGV[3], ARGV[4]
  local key = k('ag', name)
  local was = redis.call('HGET', key, 'presence')
  if not was then
    return false
  end
  if presence == '' then
    presence = was
  end
  redis.call('HSET', key, 'presence', presence, 'seen', now)
  if presence == 'online' and was ~= 'online' then
    redis.call('HSET', key, 'since', now)
  end
  if presence == 'offline' then
    redis.call('ZREM', k('seen'), name)
  else
    redis.call('ZADD', k('seen'), now, name)
  end
  local ended = {}
  if presence ~= 'online' then
    ended = withdraw(name, now)
  end
  return {agent_reply(name), ended}

elseif op == 'lapse' then
  -- ARGV: cutoff, now. Agents whose heartbeat is older than the cutoff go offline.
  local cutoff, now = ARGV[2], ARGV[3]
  local lapsed = {}
  for _, name in ipairs(redis.call('ZRANGEBYSCORE', k('seen'), '-inf', '(' .. cutoff)) do
    redis.call('ZREM', k('seen'), name)
    redis.call('HSET', k('ag', name), 'presence', 'offline')
    withdraw(name, now)
    lapsed[#lapsed + 1] = agent_reply(name)
  end
  return lapsed

elseif op == 'token' then
  -- ARGV: digest, name, role ("" for every role of the agent), token JSON (without id),
  -- defaults (capacity). Replies {id, roles JSON}, "missing" (no such agent, no role) or
  -- "taken" (the digest is).
  local digest, name, role, now = ARGV[2], ARGV[3], ARGV[4], ARGV[7]
  if redis.call('HEXISTS', k('tokens'), digest) == 1 then
    return 'taken'
  end
  if role ~= '' then
    put(name, {add_roles = {role}}, cjson.decode(ARGV[6]), now)
  elseif redis.call('EXISTS', k('ag', name)) == 0 then
    return 'missing'
  end
  local id = redis.call('HINCRBY', k('ids'), 'token', 1)
  redis.call('HSET', k('tokens'), digest, with_id(id, ARGV[5]))
  return {id, redis.call('HGET', k('ag', name), 'roles')}

elseif op == 'revoke' then
  -- ARGV: "id" or "name", its value, now. Tokens are few (one or two an agent): reading
  -- them all is cheap. Replies the tokens revoked now (JSON).
  local by, value, now = ARGV[2], ARGV[3], ARGV[4]
  local revoked = {}
  local all = redis.call('HGETALL', k('tokens'))
  for i = 1, #all, 2 do
    local token = cjson.decode(all[i + 1])
    local match = (by == 'id' and tostring(token.id) == value) or
                  (by == 'name' and token.name == value)
    if match and (token.revoked_at == nil or token.revoked_at == cjson.null) then
      -- appended as text: decoding and encoding again would round created_at
      local text = string.sub(all[i + 1], 1, -2) .. ',"revoked_at":' .. now .. '}'
      redis.call('HSET', k('tokens'), all[i], text)
      revoked[#revoked + 1] = text
    end
  end
  return revoked

elseif op == 'adopt' then
  -- Tokens an older hub stored name people who are no agents yet: each becomes one, with
  -- its tokens' roles, created with its first token. ARGV: defaults (capacity).
  -- Agents are never deleted, so a name without one is such a name: this is idempotent.
  local defaults = cjson.decode(ARGV[2])
  local found, order = {}, {}
  for _, text in ipairs(redis.call('HVALS', k('tokens'))) do
    local token = cjson.decode(text)
    if redis.call('EXISTS', k('ag', token.name)) == 0 then
      local seen = found[token.name]
      if not seen then
        seen = {roles = {}, created = token.created_at}
        found[token.name], order[#order + 1] = seen, token.name
      end
      if type(token.role) == 'string' then
        seen.roles[#seen.roles + 1] = token.role
      end
      seen.created = math.min(seen.created, token.created_at)
    end
  end
  for _, name in ipairs(order) do
    put(name, {add_roles = found[name].roles}, defaults, num(found[name].created))
  end
  return #order

end
return redis.error_reply('people: unknown operation ' .. tostring(op))
