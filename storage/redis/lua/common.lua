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
local RUNNING = {new = true, open = true}  -- SLA clocks run: pending pauses, solving stops
local RANK = {low = 0, normal = 1, high = 2, urgent = 3}
local STATE = {'status', 'queue', 'priority', 'assignee', 'customer', 'channel', 'created',
               'updated', 'offer', 'sla'}

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

-- core/workflow.py `waits`: live work that nobody holds.
local function waiting(state)
  return ACTIVE[state.status] and not state.assignee
end

-- The sorted sets a ticket is in, in a state: key -> {score, member}.
local function memberships(id, state)
  local sets = {}
  sets[k('ix', 'q', state.queue)] = {id, id}
  sets[k('ix', 's', state.status)] = {id, id}
  sets[k('ix', 'ch', state.channel)] = {id, id}
  sets[state.assignee and k('ix', 'a', state.assignee) or k('ix', 'na')] = {id, id}
  sets[k('ix', 'c', state.customer)] = {id, id}
  if waiting(state) then
    sets[k('w', state.queue, RANK[state.priority])] = {state.created, waiting_member(id)}
  end
  if state.status ~= 'closed' then
    sets[k('c', state.customer, 'live', state.channel)] = {state.updated, id}
  else  -- for the retention sweeper (lua/retention.lua)
    sets[k('ix', 'closed')] = {state.updated, id}
  end
  if state.sla and RUNNING[state.status] then  -- its SLA standing, while its clocks run
    sets[k('ix', 'sla', state.sla)] = {id, id}
  end
  return sets
end

-- Running tickets at risk, counted per queue (`risk`: queue -> count) by every change.
local function at_risk(state)
  return state and state.sla == 'at_risk' and RUNNING[state.status]
end

local function count_risk(before, after)
  local was, is = at_risk(before), at_risk(after)
  if was and is and before.queue == after.queue then
    return
  end
  if was and redis.call('HINCRBY', k('risk'), before.queue, -1) <= 0 then
    redis.call('HDEL', k('risk'), before.queue)
  end
  if is then
    redis.call('HINCRBY', k('risk'), after.queue, 1)
  end
end

local function adjust_open(state, by)
  redis.call('HINCRBY', k('c', state.customer), 'open', by)
  if redis.call('HINCRBY', k('open'), state.queue, by) <= 0 then
    redis.call('HDEL', k('open'), state.queue)
  end
end

-- An agent's load: `load:<name>` channel -> what they hold (active, assigned) plus their
-- open offers, moved by the script of every change that moves it.
local function add_load(name, channel, by)
  if redis.call('HINCRBY', k('load', name), channel, by) <= 0 then
    redis.call('HDEL', k('load', name), channel)
  end
end

local function held(state)
  return state and ACTIVE[state.status] and state.assignee
end

local function hold(before, after)
  local was, is = held(before), held(after)
  if was and is and before.assignee == after.assignee and before.channel == after.channel then
    return
  end
  if was then
    add_load(before.assignee, before.channel, -1)
  end
  if is then
    add_load(after.assignee, after.channel, 1)
  end
end

-- An offer as the scripts reply it: {fields (flat), explanation JSON}. The explanation is a
-- string beside the hash: a long value would turn the hash from Redis's compact encoding
-- into a table three times its size.
local function offer_reply(id)
  return {redis.call('HGETALL', k('of', id)), redis.call('GET', k('of', id, 'why'))}
end

-- An open offer (hash `of:<id>`) ends: off its ticket, its agent's load and the open sets.
-- `at` is a time string. Replies the offer (offer_reply).
local function end_offer(id, state, at)
  local offer = k('of', id)
  local ticket, agent, channel = unpack(redis.call('HMGET', offer, 'ticket', 'agent', 'channel'))
  redis.call('HSET', offer, 'state', state, 'answered', at)
  redis.call('HDEL', k('t', ticket), 'offer')
  redis.call('ZREM', k('offers'), id)
  redis.call('ZREM', k('ag', agent, 'offers'), id)
  redis.call('ZREM', k('deadlines'), id)
  add_load(agent, channel, -1)
  if state == 'rejected' or state == 'expired' then
    redis.call('SADD', k('t', ticket, 'declined'), agent)
  end
  return offer_reply(id)
end

-- Move a ticket's index entries from one state to the next, touching only what changed
-- (a customer's follow-up usually changes one score).
local function reindex(id, before, after)
  id = tostring(id)
  local old, new = before and memberships(id, before) or {}, memberships(id, after)
  for key, entry in pairs(old) do
    if not new[key] or new[key][2] ~= entry[2] then
      redis.call('ZREM', key, entry[2])
    end
  end
  for key, entry in pairs(new) do
    local was = old[key]
    if not was or was[1] ~= entry[1] or was[2] ~= entry[2] then
      redis.call('ZADD', key, entry[1], entry[2])
    end
  end
  hold(before, after)
  count_risk(before, after)
  local was, is = before and ACTIVE[before.status], ACTIVE[after.status]
  if was and is and before.queue == after.queue and before.customer == after.customer then
    return
  end
  if was then
    adjust_open(before, -1)
  end
  if is then
    adjust_open(after, 1)
  end
end

-- Every change of a ticket goes through here, so its indexes never disagree with it.
local function change_ticket(id, set, del, before)
  before = before or ticket_state(id)
  local after = {}
  for field, value in pairs(before) do
    after[field] = value
  end
  for i = 1, #set, 2 do
    if after[set[i]] ~= nil then
      after[set[i]] = set[i + 1]
    end
  end
  for _, field in ipairs(del) do
    if after[field] ~= nil then
      after[field] = false
    end
  end
  if #set > 0 then
    redis.call('HSET', k('t', id), unpack(set))
  end
  if #del > 0 then
    redis.call('HDEL', k('t', id), unpack(del))
  end
  reindex(id, before, after)
  -- An offered ticket that stops waiting or leaves its queue: the offer ends, unanswered and
  -- unrecorded (the change is on the record).
  if before.offer and (not waiting(after) or after.queue ~= before.queue) then
    end_offer(before.offer, 'withdrawn', after.updated)
  end
end

-- A customer is found by the words of its name (core.customers.name_words, worked out by
-- the caller): one member "<word>\0<zero-padded id>" each, in a set ordered by text.
local function index_name(id, words, add)
  local padded = string.format('%012d', tonumber(id))
  for _, word in ipairs(words) do
    if add then
      redis.call('ZADD', k('names'), 0, word .. '\0' .. padded)
    else
      redis.call('ZREM', k('names'), word .. '\0' .. padded)
    end
  end
end

-- An email address is found by its domain (after its last "@"): the identity's key in a
-- set per domain, ordered by text ({P}:dom:<domain>); its owner is {P}:ident's, whoever
-- that is now (a merge moves it).
local function index_domain(identity, add)
  if string.sub(identity, 1, 6) ~= 'email:' then
    return
  end
  local domain = string.match(identity, '@([^@]*)$')
  if not domain then
    return
  end
  if add then
    redis.call('ZADD', k('dom', domain), 0, identity)
  else
    redis.call('ZREM', k('dom', domain), identity)
  end
end

-- A ticket as the store reads it: {id, fields, route json, messages}.
local function read_ticket(id)
  return {tonumber(id), redis.call('HGETALL', k('t', id)), redis.call('GET', k('t', id, 'r')),
          redis.call('LRANGE', k('t', id, 'm'), 0, -1), redis.call('GET', k('t', id, 'clk'))}
end

local function with_id(id, json, extra)
  return '{"id":' .. id .. ',' .. (extra or '') .. string.sub(json, 2)
end

-- The ticket's record (core/record.py): one event numbered by the hub-wide sequence, in the
-- script of the change it records. The ticket's own list `t:<id>:ev` keeps its whole record
-- (JSON); the stream `events` keeps the hub-wide order, an entry with the ID "<seq>-1" (a
-- reader resumes after any seq) pointing at the event in its ticket's list (fields t: the
-- ticket, i: the position), so the event is stored once, and trimming the stream to a
-- retention window would never cut a ticket's record.
-- `at` is a time string; `detail` a table (cjson.null for a null).
-- An event's JSON names its fields by one letter (s: seq, k: kind, a: actor, t: at,
-- d: detail), as every ticket keeps several; hubs before them wrote the names out.
-- Every event is also folded into the reports' rollups (lua/tally.lua, which defines it).
local tally_event
local function record(id, kind, actor, at, detail)
  local seq = redis.call('HINCRBY', k('ids'), 'event', 1)
  local event = cjson.encode({s = seq, k = kind, a = actor, t = at, d = detail or {}})
  local length = redis.call('RPUSH', k('t', id, 'ev'), event)
  redis.call('XADD', k('events'), string.format('%d-1', seq), 't', id, 'i', length - 1)
  tally_event(id, kind, actor, at, detail)
  return seq
end

local function json_or_null(value)
  if value == nil or value == false then
    return cjson.null
  end
  return value
end

-- A change of status, priority, queue, tags or assignee: {kind, field, from, to}, `to`
-- false for an unassignment, tags as JSON text. Applied as one change of the ticket (its
-- indexes follow) and recorded field by field, in the order given, as `actor`'s.
local function apply_moves(id, before, moves, actor, at)
  if #moves == 0 then
    return
  end
  local set, del = {'updated', at}, {}
  for _, move in ipairs(moves) do
    local kind, field, from, to = move[1], move[2], move[3], move[4]
    if to then
      set[#set + 1], set[#set + 2] = field, to
    else
      del[#del + 1] = field
    end
    if kind == 'status' and (to == 'resolved' or to == 'closed') then
      set[#set + 1], set[#set + 2] = 'resolved', at
    elseif kind == 'status' then
      del[#del + 1] = 'resolved'
    end
  end
  change_ticket(id, set, del, before)
  for _, move in ipairs(moves) do
    local from, to = move[3], move[4]
    if move[1] == 'tags' then
      from, to = cjson.decode(from or '[]'), cjson.decode(to)
    end
    record(id, move[1], actor, at, {from = json_or_null(from), to = json_or_null(to)})
  end
end

-- A new ticket, new and unassigned: waiting in its queue, with its route (JSON text) and
-- its first event, `created` = {actor, detail}. `fields`: the hash's fields besides the
-- state (queue and priority among them). Replies its id.
local function create_ticket(customer, channel, at, fields, route, created)
  local id = redis.call('HINCRBY', k('ids'), 'ticket', 1)
  local state = {status = 'new', customer = customer, channel = channel, created = at,
                 updated = at, queue = fields.queue, priority = fields.priority}
  local flat = {}
  for name, value in pairs(state) do
    flat[#flat + 1], flat[#flat + 2] = name, value
  end
  for name, value in pairs(fields) do
    if state[name] == nil then
      flat[#flat + 1], flat[#flat + 2] = name, value
    end
  end
  redis.call('HSET', k('t', id), unpack(flat))
  redis.call('SET', k('t', id, 'r'), route)
  reindex(id, nil, state)
  record(id, 'created', created.actor, at, created.detail)
  return id
end

-- SLA deadlines (lua/deadlines.lua claims them):
-- {P}:sla            zset: "<ticket>|<metric>|<kind>" by when it may next be claimed (its
--                    due time, then the end of a claim's lease)
-- {P}:sla:d          hash: the same member -> "<key>|<due>" (the clock's instance, due time)
-- {P}:t:<id>:sla     set: the ticket's members
local function drop_deadline(id, slot)
  redis.call('ZREM', k('sla'), slot)
  redis.call('HDEL', k('sla', 'd'), slot)
  redis.call('SREM', k('t', id, 'sla'), slot)
end

-- Replace the ticket's deadlines by `wanted`, a list of {metric, kind, key, due}; one
-- unchanged keeps its claim.
local function set_deadlines(id, wanted)
  local values, order = {}, {}
  for _, d in ipairs(wanted) do
    local slot = id .. '|' .. d[1] .. '|' .. d[2]
    values[slot] = {d[3] .. '|' .. d[4], d[4]}
    order[#order + 1] = slot
  end
  for _, slot in ipairs(redis.call('SMEMBERS', k('t', id, 'sla'))) do
    if not values[slot] then
      drop_deadline(id, slot)
    end
  end
  for _, slot in ipairs(order) do
    local value, due = values[slot][1], values[slot][2]
    if redis.call('HGET', k('sla', 'd'), slot) ~= value then
      redis.call('HSET', k('sla', 'd'), slot, value)
      redis.call('ZADD', k('sla'), due, slot)
      redis.call('SADD', k('t', id, 'sla'), slot)
    end
  end
end

-- A ticket's SLA marks (core.deadlines.SlaMarks), as storage/redis/rows.py `sla_json` sends
-- them: {basis (absent: any), standing, clocks (the text kept at t:<id>:clk), deadlines}.
-- They are written only while `basis` is the ticket's newest event: computed from a record
-- another change has moved on since, they would be stale (the watcher computes them again).
local function newest_event(id)
  local last = redis.call('LINDEX', k('t', id, 'ev'), -1)
  if not last then
    return 0
  end
  local event = cjson.decode(last)
  return tonumber(event.s or event.seq)
end

local function sla_based(id, sla)
  return sla ~= nil and (sla.basis == nil or newest_event(id) == tonumber(sla.basis))
end

local function write_sla(id, sla)
  local state = ticket_state(id)
  if (state.sla or '') ~= sla.standing then
    if sla.standing == '' then
      change_ticket(id, {}, {'sla'}, state)
    else
      change_ticket(id, {'sla', sla.standing}, {}, state)
    end
  end
  redis.call('SET', k('t', id, 'clk'), sla.clocks)
  set_deadlines(id, sla.deadlines)
end
