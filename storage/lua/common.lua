-- Shared by every script (prepended to each): key names and the ticket indexes.
-- Every key starts with one hash tag, so a script's keys all live in one Cluster slot;
-- KEYS[1] is "<tag>:ids" and declares that slot.
local P = string.sub(KEYS[1], 1, -5)

local function k(...)
  return P .. ':' .. table.concat({...}, ':')
end

-- Lua turns numbers into strings with 14 digits; times and scores must keep 17.
local function num(x)
  return string.format('%.17g', x)
end

local ACTIVE = {new = true, open = true, pending = true}
local RANK = {low = 0, normal = 1, high = 2, urgent = 3}
local STATE = {'status', 'queue', 'priority', 'assignee', 'customer', 'channel', 'created',
               'updated'}

local function ticket_state(id)
  local values = redis.call('HMGET', k('t', id), unpack(STATE))
  if not values[1] then
    return nil
  end
  local state = {}
  for i, field in ipairs(STATE) do
    state[field] = values[i]
  end
  return state
end

-- Waiting members sort by created time, then by zero-padded id (ties sort as text).
local function waiting_member(id)
  return string.format('%012d', tonumber(id))
end

local function waiting(state)
  return state.status == 'new' and not state.assignee
end

local function adjust_open(state, by)
  redis.call('HINCRBY', k('c', state.customer), 'open', by)
  if redis.call('HINCRBY', k('open'), state.queue, by) <= 0 then
    redis.call('HDEL', k('open'), state.queue)
  end
end

local function unindex(id, state)
  redis.call('ZREM', k('ix', 'q', state.queue), id)
  redis.call('ZREM', k('ix', 's', state.status), id)
  if waiting(state) then
    redis.call('ZREM', k('w', state.queue, RANK[state.priority]), waiting_member(id))
  end
  if state.status ~= 'closed' then
    redis.call('ZREM', k('c', state.customer, 'live', state.channel), id)
  end
  if ACTIVE[state.status] then
    adjust_open(state, -1)
  end
end

local function index(id, state)
  redis.call('ZADD', k('ix', 'q', state.queue), id, id)
  redis.call('ZADD', k('ix', 's', state.status), id, id)
  if waiting(state) then
    redis.call('ZADD', k('w', state.queue, RANK[state.priority]), state.created,
               waiting_member(id))
  end
  if state.status ~= 'closed' then
    redis.call('ZADD', k('c', state.customer, 'live', state.channel), state.updated, id)
  end
  if ACTIVE[state.status] then
    adjust_open(state, 1)
  end
end

-- Every change of a ticket goes through here, so its indexes never disagree with it.
local function change_ticket(id, set, del)
  unindex(id, ticket_state(id))
  if #set > 0 then
    redis.call('HSET', k('t', id), unpack(set))
  end
  if #del > 0 then
    redis.call('HDEL', k('t', id), unpack(del))
  end
  index(id, ticket_state(id))
end

local function read_ticket(id)
  return {tonumber(id), redis.call('HGETALL', k('t', id)),
          redis.call('LRANGE', k('t', id, 'm'), 0, -1)}
end

local function with_id(id, json, extra)
  return '{"id":' .. id .. ',' .. (extra or '') .. string.sub(json, 2)
end
