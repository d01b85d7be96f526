-- One contact, all or nothing: dedupe, identify, thread, create or append, index.
-- ARGV[1]: the contact, JSON {key, channel, now, window (seconds), name, name_words (of the
--   name, to find a new customer by), message (JSON of the message without its id),
--   identities, thread_keys, words and subject_words (of the message's body and subject, for
--   searches: lua/words.lua), after (status -> the status a customer's message leaves a
--   ticket in, where it differs: core/workflow.py), zone and cells (the report zone the hub
--   knows, and the {day, month} starts of a new ticket's cells in it, when it is not UTC:
--   lua/tally.lua)}.
-- ARGV[2]: "" or the routing decision for a new ticket, JSON {customer ("" = new),
--   history (whether tags and open count were read), tags, open, fields (of the ticket's
--   hash), route (its JSON), created {actor, detail} (its first event), sla (its SLA
--   marks, common.lua's write_sla, or absent)}.
-- The ticket's record gets `created` for a new ticket, `message_in`, and the status move
-- the message made, as the customer's.
-- Replies {"zone", the store's report zone} when the hub's is not it, or {outcome, ticket,
-- message, customer, the ticket's queue[, its record when the
-- message was appended to a ticket with SLA clocks]}, or {"route", customer,
-- tags, open} when a ticket must be made and the caller's decision was not taken on exactly
-- these facts.
local contact = cjson.decode(ARGV[1])
local decision = ARGV[2] ~= '' and cjson.decode(ARGV[2]) or nil
local channel, now, window = contact.channel, contact.now, contact.window
TALLY.new_cells = contact.cells

-- A hub that read the store's report zone before `contacthub reports zone` changed it
-- learns the new one, before anything is written.
local zone = redis.call('HGET', k('ids'), 'report_zone') or 'UTC'
if zone ~= (contact.zone or 'UTC') then
  return {'zone', zone}
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
    local status = id and redis.call('HGET', k('t', id), 'status')
    if status and status ~= 'closed' then  -- a purged ticket's key leads nowhere
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

-- A customer's message moves the ticket as the contact's `after` says (a resolved or
-- pending ticket opens again); returns the ticket's queue and the move {from, to} or nil.
local function touch(id)
  local state = ticket_state(id)
  local set, del, move = {}, {}, nil
  if tonumber(now) > tonumber(state.updated) then
    set = {'updated', now}
  end
  local after = contact.after[state.status]
  if after then
    set[#set + 1], set[#set + 2] = 'status', after
    del = {'resolved'}
    move = {state.status, after}
  end
  change_ticket(id, set, del, state)
  return state.queue, move
end

-- The caller decided on facts it guessed or was told; they must be the facts now.
local function routing_facts(known)
  local tags, open = '[]', 0
  if known then
    local customer = redis.call('HMGET', k('c', known), 'tags', 'open')
    tags, open = customer[1] or '[]', tonumber(customer[2] or 0)
  end
  local expected = decision and decision.customer == (known and tostring(known) or '')
  if expected and decision.history and known then
    expected = tags == decision.tags and open == decision.open
  end
  if expected then
    return nil
  end
  return {'route', known and tostring(known) or '', tags, open}
end

-- A new customer's hash holds its identities too ("id:<identity>" -> linked at).
local function new_customer(identities)
  local id = redis.call('HINCRBY', k('ids'), 'customer', 1)
  local fields = {'name', contact.name, 'created', now}
  for _, identity in ipairs(identities) do
    fields[#fields + 1], fields[#fields + 2] = 'id:' .. identity, now
  end
  if #contact.name_words > 0 then
    fields[#fields + 1], fields[#fields + 2] = 'words', cjson.encode(contact.name_words)
    index_name(id, contact.name_words, true)
  end
  redis.call('HSET', k('c', id), unpack(fields))
  return id
end

local function new_ticket(customer)
  local id = create_ticket(customer, channel, now, decision.fields, decision.route,
                           decision.created)
  if decision.sla then
    write_sla(id, decision.sla)
  end
  return id
end

-- Identities new to the hub join the customer (one already owned stays with its owner).
local function link(customer, identities, listed)
  if #identities == 0 then
    return
  end
  local owned, fields = {}, {}
  for _, identity in ipairs(identities) do
    owned[#owned + 1], owned[#owned + 2] = identity, customer
    fields[#fields + 1], fields[#fields + 2] = 'id:' .. identity, now
    index_domain(identity, true)
  end
  redis.call('HSET', k('ident'), unpack(owned))
  if not listed then
    redis.call('HSET', k('c', customer), unpack(fields))
  end
end

local seen = redis.call('HGET', k('dedupe'), contact.key)
if seen then
  local id, message = string.match(seen, '^(%d+):(%d+)')
  local ticket = redis.call('HMGET', k('t', id), 'customer', 'queue')
  if ticket[1] then  -- else its ticket was purged: the contact is new again, as on SQLite
    return {'duplicate', id, message, ticket[1], ticket[2]}
  end
end
local customer, unowned = owners(contact.identities)
local id = customer and find_thread(customer, contact.thread_keys)
local outcome, listed, queue, move = 'appended', false, nil, nil
if id then
  queue, move = touch(id)
else
  local reroute = routing_facts(customer)
  if reroute then
    return reroute
  end
  listed = not customer  -- a new customer's hash lists its identities already
  customer = customer or new_customer(unowned)
  id = new_ticket(customer)
  outcome, queue = 'created', decision.fields.queue
end
link(customer, unowned, listed)
local message = redis.call('HINCRBY', k('ids'), 'message', 1)
local length = redis.call('RPUSH', k('t', id, 'm'), with_id(message, contact.message))
for _, sha in ipairs(contact.blobs or {}) do  -- references counted for retention.lua
  redis.call('HINCRBY', k('blobs'), sha, 1)
end
redis.call('HSET', k('dedupe'), contact.key, id .. ':' .. message .. ':' .. (length - 1))
if outcome == 'created' then
  index_words(id, contact.subject_words)
end
index_words(id, contact.words)
-- A key stays with its live ticket: a new sender's reply-all must not take the thread from
-- the ticket it names; a key of a closed ticket moves on to the next one.
for _, thread_key in ipairs(contact.thread_keys) do
  if not string.find(thread_key, TICKET_KEY) then
    local held = redis.call('HGET', k('thread'), thread_key)
    local status = held and redis.call('HGET', k('t', held), 'status')
    if not status or status == 'closed' then
      redis.call('HSET', k('thread'), thread_key, id)
    end
  end
end
local actor = 'customer:' .. customer
record(id, 'message_in', actor, now, {message_id = message, channel = channel})
if move then
  record(id, 'status', actor, now, {from = move[1], to = move[2]})
end
-- A clocked ticket's record goes back with a customer's message: the caller computes the
-- marks it leaves (this script cannot ask the router) and writes them at once, guarded.
if outcome == 'appended' and redis.call('EXISTS', k('t', id, 'clk')) == 1 then
  return {outcome, id, message, customer, queue, redis.call('LRANGE', k('t', id, 'ev'), 0, -1)}
end
return {outcome, id, message, customer, queue}
