-- One contact, all or nothing: dedupe, identify, thread, create or append, index.
-- ARGV: dedupe key, channel, now, window seconds, sender name, message json (no id),
--   count + identity keys, count + thread keys,
--   decided (0/1), expected customer ("" = new), history (0/1), expected tags, expected open,
--   then the new ticket's field/value pairs.
-- Replies {outcome, ticket, message, customer}, or {"route", customer, tags, open} when a
-- ticket must be made and the caller's decision was not taken on exactly these facts.
local key, channel, now, window = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

local function list_at(pos)
  local items = {}
  for i = 1, tonumber(ARGV[pos]) do
    items[i] = ARGV[pos + i]
  end
  return items, pos + #items + 1
end

local function owners(identities)
  local known, unowned = nil, {}
  for _, identity in ipairs(identities) do
    local owner = redis.call('HGET', k('ident'), identity)
    if owner then
      owner = tonumber(owner)
      if not known or owner < known then
        known = owner  -- the oldest customer wins
      end
    else
      unowned[#unowned + 1] = identity
    end
  end
  return known, unowned
end

-- "ticket:<id>" (core.model.TICKET_KEY_PREFIX) names a ticket; it threads only onto a
-- ticket of the sender's own customer, and is never kept as a thread key.
local TICKET_KEY = '^ticket:'

local function keyed_ticket(customer, thread_key)
  if not string.find(thread_key, TICKET_KEY) then
    return redis.call('HGET', k('thread'), thread_key)
  end
  local number = tonumber(string.match(thread_key, '^ticket:(%d+)$'))
  if number and redis.call('HGET', k('t', number), 'customer') == tostring(customer) then
    return number
  end
  return nil
end

local function find_thread(customer, thread_keys)
  for _, thread_key in ipairs(thread_keys) do
    local id = keyed_ticket(customer, thread_key)
    if id and redis.call('HGET', k('t', id), 'status') ~= 'closed' then
      return id
    end
  end
  if window <= 0 then
    return nil
  end
  local live = k('c', customer, 'live', channel)
  return redis.call('ZREVRANGEBYSCORE', live, '+inf', num(tonumber(now) - window),
                    'LIMIT', 0, 1)[1]
end

-- A customer's message reopens a resolved ticket and wakes a pending one.
local function touch(id)
  local current = redis.call('HMGET', k('t', id), 'status', 'updated')
  local set = {}
  if tonumber(now) > tonumber(current[2]) then
    set = {'updated', now}
  end
  if current[1] == 'resolved' or current[1] == 'pending' then
    set[#set + 1], set[#set + 2] = 'status', 'open'
  end
  change_ticket(id, set, {'resolved'})
end

-- The caller decided on facts it guessed or was told; they must be the facts now.
local function routing_facts(known, pos)
  local tags, open = '[]', 0
  if known then
    local customer = redis.call('HMGET', k('c', known), 'tags', 'open')
    tags, open = customer[1] or '[]', tonumber(customer[2] or 0)
  end
  local expected = ARGV[pos + 1] == (known and tostring(known) or '')
  local history = ARGV[pos + 2] == '1' and known
  if history then
    expected = expected and tags == ARGV[pos + 3] and open == tonumber(ARGV[pos + 4])
  end
  if ARGV[pos] == '1' and expected then
    return nil
  end
  return {'route', known and tostring(known) or '', tags, open}
end

local function new_customer()
  local id = redis.call('HINCRBY', k('ids'), 'customer', 1)
  redis.call('HSET', k('c', id), 'name', ARGV[5], 'created', now)
  return id
end

local function new_ticket(customer, pos)
  local id = redis.call('HINCRBY', k('ids'), 'ticket', 1)
  local fields = {'status', 'new', 'customer', customer, 'channel', channel,
                  'created', now, 'updated', now}
  for i = pos, #ARGV do
    fields[#fields + 1] = ARGV[i]
  end
  redis.call('HSET', k('t', id), unpack(fields))
  redis.call('ZADD', k('ix', 'all'), id, id)
  redis.call('ZADD', k('ix', 'c', customer), id, id)
  index(id, ticket_state(id))
  return id
end

local seen = redis.call('HGET', k('dedupe'), key)
if seen then
  local id, message = string.match(seen, '^(%d+):(%d+)$')
  return {'duplicate', id, message, redis.call('HGET', k('t', id), 'customer')}
end
local identities, pos = list_at(7)
local thread_keys, decision_pos = list_at(pos)
local customer, unowned = owners(identities)
local id = customer and find_thread(customer, thread_keys)
local outcome = 'appended'
if id then
  touch(id)
else
  local reroute = routing_facts(customer, decision_pos)
  if reroute then
    return reroute
  end
  customer = customer or new_customer()
  id = new_ticket(customer, decision_pos + 5)
  outcome = 'created'
end
for _, identity in ipairs(unowned) do
  redis.call('HSET', k('ident'), identity, customer)
  redis.call('ZADD', k('c', customer, 'ids'), now, identity)
end
local message = redis.call('HINCRBY', k('ids'), 'message', 1)
redis.call('RPUSH', k('t', id, 'm'), with_id(message, ARGV[6]))
redis.call('HSET', k('dedupe'), key, id .. ':' .. message)
for _, thread_key in ipairs(thread_keys) do
  if not string.find(thread_key, TICKET_KEY) then
    redis.call('HSET', k('thread'), thread_key, id)
  end
end
return {outcome, id, message, customer}
