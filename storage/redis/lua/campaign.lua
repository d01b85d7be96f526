-- Outbound campaigns: every write, one operation per call (ARGV[1] names it).
--
-- {P}:cp:names            hash: campaign name -> id
-- {P}:cp:<id>             hash: campaign (name, queue, caller, policy, state, times)
-- {P}:cp:<id>:phones      hash: E.164 -> contact id
-- {P}:cp:<id>:slots       set: the slots of its contacts
-- {P}:cp:<id>:q:<r>:<s>   zset: queued contacts of rank r and slot s, by due time
-- {P}:cp:<id>:leased      zset: leased contacts, by the lease's end
-- {P}:cp:<id>:n           hash: counters: s:<state>, a:<attempts made>, o:<outcome>
-- {P}:ct:<id>             hash: contact;  {P}:ct:<id>:at  list: its attempt ids
-- {P}:at:<id>             hash: attempt
-- {P}:dnc                 hash: E.164 -> "source<TAB>added at"
-- {P}:dnc:removed:<E.164> list: its removals from the list, one JSON object each
local RENEWABLE = {completed = true, exhausted = true, expired = true}
local TOP_RANK = 4
local MAX_SKIPPED = 100
local MAX_RECLAIMED = 500

local function counter(cid, field, by)
  redis.call('HINCRBY', k('cp', cid, 'n'), field, by)
end

local function queue_key(cid, rank, slot)
  return k('cp', cid, 'q', rank, slot)
end

-- Every change of a contact's state, rank, due time or attempts goes through here, so its
-- indexes and the campaign's counters never disagree with it.
local function move(id, set)
  local f = redis.call('HMGET', k('ct', id), 'campaign', 'state', 'rank', 'slot', 'attempts')
  local cid, state, rank, slot, attempts = f[1], f[2], f[3], f[4], f[5]
  local after = {state = state, rank = rank, attempts = attempts}
  local flat = {}
  for field, value in pairs(set) do
    after[field] = value
    flat[#flat + 1] = field
    flat[#flat + 1] = value
  end
  redis.call('HSET', k('ct', id), unpack(flat))
  if state == 'queued' then
    redis.call('ZREM', queue_key(cid, rank, slot), id)
  elseif state == 'leased' then
    redis.call('ZREM', k('cp', cid, 'leased'), id)
  end
  if after.state == 'queued' then
    local due = redis.call('HGET', k('ct', id), 'next_at')
    redis.call('ZADD', queue_key(cid, after.rank, slot), due, id)
  elseif after.state == 'leased' then
    redis.call('ZADD', k('cp', cid, 'leased'), after.lease_until, id)
  end
  if after.state ~= state then
    counter(cid, 's:' .. state, -1)
    counter(cid, 's:' .. after.state, 1)
  end
  if tostring(after.attempts) ~= attempts then
    counter(cid, 'a:' .. attempts, -1)
    counter(cid, 'a:' .. after.attempts, 1)
  end
end

local function suppressed(phone)
  local entry = redis.call('HGET', k('dnc'), phone)
  if entry then
    return 'do not call (' .. string.match(entry, '^([^\t]*)') .. ')'
  end
  local consent = redis.call('HGET', k('sms_consent'), 'phone:' .. phone)
  if consent and string.sub(consent, 1, 1) == '1' then
    return 'sms opt-out'
  end
  return nil
end

local function create(name, queue, caller, policy, state, now)
  if redis.call('HEXISTS', k('cp', 'names'), name) == 1 then
    return false
  end
  local id = redis.call('HINCRBY', k('ids'), 'campaign', 1)
  redis.call('HSET', k('cp', 'names'), name, id)
  redis.call('HSET', k('cp', id), 'name', name, 'queue', queue, 'caller', caller,
             'policy', policy, 'state', state, 'created', now, 'updated', now)
  return id
end

local function set_state(cid, state, now)
  local current = redis.call('HGET', k('cp', cid), 'state')
  if not current then
    return 'missing'
  end
  if current == 'stopped' and state ~= 'stopped' then
    return 'stopped'
  end
  redis.call('HSET', k('cp', cid), 'state', state, 'updated', now)
  return 'ok'
end

local function new_contact(cid, source, now, row, i)
  local id = redis.call('HINCRBY', k('ids'), 'contact', 1)
  local phone, slot, due, priority = row[i], row[i + 1], row[i + 2], row[i + 8]
  redis.call('HSET', k('ct', id), 'id', id, 'campaign', cid, 'phone', phone, 'slot', slot,
             'state', 'queued', 'priority', priority, 'rank', priority, 'attempts', 0,
             'next_at', due, 'name', row[i + 3], 'email', row[i + 4], 'external_ref', row[i + 5],
             'notes', row[i + 6], 'preferred', row[i + 7], 'source', source,
             'line', row[i + 9], 'created', now, 'updated', now)
  redis.call('HSET', k('cp', cid, 'phones'), phone, id)
  redis.call('SADD', k('cp', cid, 'slots'), slot)
  redis.call('ZADD', queue_key(cid, priority, slot), due, id)
  counter(cid, 's:queued', 1)
  counter(cid, 'a:0', 1)
end

-- Rows of 10 fields from row[first]: phone, slot, due, name, email, ref, notes, preferred,
-- priority, line (ARGV itself: unpacking thousands of values would overflow Lua's stack).
local function add(cid, source, now, renew, row, first)
  if redis.call('EXISTS', k('cp', cid)) == 0 then
    return false
  end
  local accepted, renewed, rejected = 0, 0, {}
  for i = first, #row, 10 do
    local phone, line = row[i], row[i + 9]
    local why = suppressed(phone)
    local existing = redis.call('HGET', k('cp', cid, 'phones'), phone)
    if why then
      rejected[#rejected + 1] = {'suppressed', line, phone, why}
    elseif not existing then
      new_contact(cid, source, now, row, i)
      accepted = accepted + 1
    else
      local f = redis.call('HMGET', k('ct', existing), 'source', 'state')
      if renew == '1' and RENEWABLE[f[2]] then
        redis.call('HSET', k('ct', existing), 'next_at', row[i + 2], 'source', source,
                   'line', line, 'priority', row[i + 8], 'updated', now)
        redis.call('HDEL', k('ct', existing), 'last_outcome')
        move(existing, {state = 'queued', rank = row[i + 8], attempts = 0})
        renewed = renewed + 1
      else
        local reason = f[1] == source and 'in the list' or 'in the campaign'
        rejected[#rejected + 1] = {'duplicate', line, phone, reason}
      end
    end
  end
  return {accepted, renewed, rejected}
end

local function close_attempt(aid, cid, outcome, ended)
  redis.call('HSET', k('at', aid), 'outcome', outcome, 'ended', ended)
  counter(cid, 'o:' .. outcome, 1)
end

local function reclaim(cid, now)
  local ids = redis.call('ZRANGEBYSCORE', k('cp', cid, 'leased'), '-inf', now,
                         'LIMIT', 0, MAX_RECLAIMED)
  for _, id in ipairs(ids) do
    local f = redis.call('HMGET', k('ct', id), 'attempt', 'lease_until')
    close_attempt(f[1], cid, 'expired', f[2])
    redis.call('HDEL', k('ct', id), 'attempt', 'lease_until')
    move(id, {state = 'queued', updated = now})
  end
end

-- The most pressing due contact of the open slots: highest rank, then longest due.
local function due(cid, now, slots)
  for rank = TOP_RANK, 0, -1 do
    local best, best_at = nil, nil
    for _, slot in ipairs(slots) do
      local found = redis.call('ZRANGEBYSCORE', queue_key(cid, rank, slot), '-inf', now,
                               'WITHSCORES', 'LIMIT', 0, 1)
      if found[1] and (not best_at or tonumber(found[2]) < best_at) then
        best, best_at = found[1], tonumber(found[2])
      end
    end
    if best then
      return best
    end
  end
  return nil
end

local function lease(cid, id, agent, now, lease_until)
  local aid = redis.call('HINCRBY', k('ids'), 'attempt', 1)
  redis.call('HSET', k('at', aid), 'id', aid, 'campaign', cid, 'contact', id, 'agent', agent,
             'started', now, 'lease_until', lease_until)
  redis.call('RPUSH', k('ct', id, 'at'), aid)
  move(id, {state = 'leased', attempt = aid, lease_until = lease_until, updated = now})
  return {redis.call('HGETALL', k('ct', id)), redis.call('HGETALL', k('at', aid))}
end

local function next_contact(cid, agent, now, lease_until, slots)
  local state = redis.call('HGET', k('cp', cid), 'state')
  if not state then
    return 'missing'
  end
  reclaim(cid, now)
  if state ~= 'running' then
    return false
  end
  for _ = 1, MAX_SKIPPED do
    local id = due(cid, now, slots)
    if not id then
      return false
    end
    if not suppressed(redis.call('HGET', k('ct', id), 'phone')) then
      return lease(cid, id, agent, now, lease_until)
    end
    -- The number went on the do-not-call list (or opted out) after it was loaded.
    move(id, {state = 'suppressed', updated = now})
  end
  return false
end

local function add_dnc(phones, first, source, now)
  local added = 0
  local campaigns = redis.call('HVALS', k('cp', 'names'))
  for i = first, #phones do
    local phone = phones[i]
    added = added + redis.call('HSETNX', k('dnc'), phone, source .. '\t' .. now)
    for _, cid in ipairs(campaigns) do
      local id = redis.call('HGET', k('cp', cid, 'phones'), phone)
      if id and redis.call('HGET', k('ct', id), 'state') == 'queued' then
        move(id, {state = 'suppressed', updated = now})
      end
    end
  end
  return added
end

-- An agent's outcome of a call the dialer recorded as answered (ARGV as for outcome).
local function refine(a)
  local aid, now = a[1], a[2]
  local f = redis.call('HMGET', k('at', aid), 'contact', 'campaign', 'outcome', 'call_outcome')
  if not f[1] then
    return 'missing'
  end
  local id, cid = f[1], f[2]
  local c = redis.call('HMGET', k('ct', id), 'state', 'phone')
  if f[3] ~= 'answered' or f[4] ~= 'answered' or c[1] ~= 'completed' then
    return 'recorded'
  end
  counter(cid, 'o:answered', -1)
  counter(cid, 'o:' .. a[3], 1)
  redis.call('HSET', k('at', aid), 'outcome', a[3], 'note', a[8])
  if a[7] ~= '' then
    redis.call('HSET', k('at', aid), 'callback_at', a[7])
  end
  redis.call('HSET', k('ct', id), 'next_at', a[5], 'last_outcome', a[3])
  move(id, {state = a[4], rank = a[6], updated = now})
  if a[9] ~= '' then
    add_dnc({c[2]}, 1, a[9], now)
  end
  return redis.call('HGETALL', k('ct', id))
end

local function set_call(aid, sid, answered_by)
  if redis.call('EXISTS', k('at', aid)) == 0 then
    return false
  end
  redis.call('HSETNX', k('at', aid), 'call_sid', sid)
  if answered_by ~= '' then
    redis.call('HSET', k('at', aid), 'answered_by', answered_by)
  end
  return redis.call('HGETALL', k('at', aid))
end

-- What a dialled call ended as, noted once: 1 the first time, 0 for a repeated callback.
local function end_call(aid, sid, outcome)
  if redis.call('EXISTS', k('at', aid)) == 0 then
    return false
  end
  if redis.call('HEXISTS', k('at', aid), 'call_outcome') == 1 then
    return 0
  end
  redis.call('HSET', k('at', aid), 'call_outcome', outcome)
  redis.call('HSETNX', k('at', aid), 'call_sid', sid)
  return 1
end

-- Off the do-not-call list, the entry kept with who and why (a JSON line per removal).
local function remove_dnc(phone, by, reason, now)
  local entry = redis.call('HGET', k('dnc'), phone)
  if not entry then
    return false
  end
  local source, added = string.match(entry, '^(.*)\t([^\t]*)$')
  redis.call('HDEL', k('dnc'), phone)
  local removal = cjson.encode({source = source, added = added, by = by, reason = reason,
                                removed = now})
  redis.call('RPUSH', k('dnc', 'removed', phone), removal)
  return removal
end

-- ARGV: attempt, now, outcome, state, next_at, rank, callback_at, note, dnc source,
-- call sid ('' : an agent's outcome), refines ('1': an agent's outcome of an answered call).
local function outcome(a)
  if a[11] == '1' then
    return refine(a)
  end
  local aid, now = a[1], a[2]
  local f = redis.call('HMGET', k('at', aid), 'contact', 'campaign', 'outcome')
  if not f[1] then
    return 'missing'
  end
  local id, cid = f[1], f[2]
  local c = redis.call('HMGET', k('ct', id), 'state', 'attempt', 'phone', 'attempts')
  if f[3] and f[3] ~= 'expired' then
    return 'recorded'
  elseif f[3] or c[1] ~= 'leased' or c[2] ~= aid then
    return 'lease'
  end
  close_attempt(aid, cid, a[3], now)
  redis.call('HSET', k('at', aid), 'note', a[8])
  if a[10] ~= '' then
    redis.call('HSETNX', k('at', aid), 'call_sid', a[10])
    redis.call('HSET', k('at', aid), 'call_outcome', a[3])
  end
  if a[7] ~= '' then
    redis.call('HSET', k('at', aid), 'callback_at', a[7])
  end
  redis.call('HSET', k('ct', id), 'next_at', a[5], 'last_outcome', a[3])
  redis.call('HDEL', k('ct', id), 'attempt', 'lease_until')
  move(id, {state = a[4], rank = a[6], attempts = tonumber(c[4]) + 1, updated = now})
  if a[9] ~= '' then
    add_dnc({c[3]}, 1, a[9], now)
  end
  return redis.call('HGETALL', k('ct', id))
end

local op = ARGV[1]
if op == 'create' then
  return create(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
elseif op == 'state' then
  return set_state(ARGV[2], ARGV[3], ARGV[4])
elseif op == 'add' then
  return add(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV, 6)
elseif op == 'next' then
  return next_contact(ARGV[2], ARGV[3], ARGV[4], ARGV[5], {unpack(ARGV, 6)})
elseif op == 'outcome' then
  return outcome({unpack(ARGV, 2)})
elseif op == 'dnc' then
  return add_dnc(ARGV, 4, ARGV[2], ARGV[3])
elseif op == 'dnc_remove' then
  return remove_dnc(ARGV[2], ARGV[3], ARGV[4], ARGV[5])
elseif op == 'call' then
  return set_call(ARGV[2], ARGV[3], ARGV[4])
elseif op == 'end_call' then
  return end_call(ARGV[2], ARGV[3], ARGV[4])
end
return redis.error_reply('unknown campaign operation ' .. tostring(op))
