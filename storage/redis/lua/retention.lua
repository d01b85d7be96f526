-- Retention and erasure (core/retention.py); ARGV[1] names the operation.
--   {P}:ix:closed  zset: closed tickets by last activity (common.lua's `memberships`)
--   {P}:blobs      hash: attachment sha256 -> messages referring to it, counted by
--                  ingest.lua; a blob it does not count (stored by an older hub) is never
--                  named unreferenced, since an older message may refer to it
-- "backfill", after, count: closed tickets of older hubs join ix:closed, `count` of those
--   after `after` (by id); replies the last id seen ("" at the end).
-- "purge", before, now, tickets (JSON list of {id, digest, words, keys, offers}): each still
--   closed and idle since before `before`, whose messages are as the caller read them
--   (digest), goes with everything but its record, which gains `purged`. Replies {ids,
--   messages, attachments, unreferenced sha256 list}.
-- "erase", payload (JSON {customer, people, tickets: [{id, digest, words}], dedupe, thread,
--   rate, actor, now}): the customer's data goes (Store.erase_customer). Replies "changed"
--   (nothing written) when their tickets or a ticket's messages changed since the caller
--   read them, else {identities, messages, attachments, search entries, keys, events
--   scrubbed, blobs, the tickets closed (those that were live work)}.

-- A message's attachments lose their references; the blobs none refers to now join `freed`.
local function release(message, freed)
  local count = 0
  for _, attachment in ipairs(message.attachments or {}) do
    count = count + 1
    local sha = attachment.sha256
    if sha and redis.call('HEXISTS', k('blobs'), sha) == 1
        and redis.call('HINCRBY', k('blobs'), sha, -1) <= 0 then
      redis.call('HDEL', k('blobs'), sha)
      freed[#freed + 1] = sha
    end
  end
  return count
end

local function backfill(after, count)
  local ids = redis.call('ZRANGEBYSCORE', k('ix', 's', 'closed'), '(' .. after, '+inf',
                         'LIMIT', 0, count)
  for _, id in ipairs(ids) do
    local updated = redis.call('HGET', k('t', id), 'updated')
    if updated then
      redis.call('ZADD', k('ix', 'closed'), updated, id)
    end
  end
  return ids[#ids] or ''
end

local function purge_one(ticket, before, now, freed)
  local id = tostring(ticket.id)
  local state = ticket_state(id)
  if not state or state.status ~= 'closed' then  -- no entry of the index may block a sweep
    redis.call('ZREM', k('ix', 'closed'), id)
    return nil
  end
  if tonumber(state.updated) >= tonumber(before) or messages_digest(id) ~= ticket.digest then
    return nil  -- touched since it was read: a later round sees it as it is
  end
  local messages, attachments = 0, 0
  for _, text in ipairs(redis.call('LRANGE', k('t', id, 'm'), 0, -1)) do
    local message = cjson.decode(text)
    messages = messages + 1
    attachments = attachments + release(message, freed)
    if message.direction == 'outbound' then
      redis.call('HDEL', k('out'), message.id)
      if message.external_id then
        redis.call('HDEL', k('provider'), message.channel .. ':' .. message.external_id)
      end
    end
  end
  for key, entry in pairs(memberships(id, state)) do
    redis.call('ZREM', key, entry[2])
  end
  unindex_words(id, ticket.words)
  for _, slot in ipairs(redis.call('SMEMBERS', k('t', id, 'sla'))) do
    redis.call('ZREM', k('sla'), slot)
    redis.call('HDEL', k('sla', 'd'), slot)
  end
  for _, key in ipairs(ticket.keys) do
    local seen = redis.call('HGET', k('dedupe'), key)
    if seen and string.match(seen, '^(%d+):') == id then
      redis.call('HDEL', k('dedupe'), key)
    end
  end
  for _, offer in ipairs(ticket.offers) do
    redis.call('DEL', k('of', offer), k('of', offer, 'why'))
  end
  redis.call('DEL', k('t', id), k('t', id, 'r'), k('t', id, 'm'), k('t', id, 'w'),
             k('t', id, 'mw'), k('t', id, 'declined'), k('t', id, 'sla'))
  record(id, 'purged', 'system', now, {messages = messages, attachments = attachments})
  return {messages, attachments}
end

local function purge(before, now, tickets)
  local ids, messages, attachments, freed = {}, 0, 0, {}
  for _, ticket in ipairs(tickets) do
    local done = purge_one(ticket, before, now, freed)
    if done then
      ids[#ids + 1] = ticket.id
      messages, attachments = messages + done[1], attachments + done[2]
    end
  end
  return {ids, messages, attachments, freed}
end

-- Erasure ---------------------------------------------------------------------------------

local FREE_TEXT = {note = {'body'}, transferred = {'note'}, escalated = {'reason'}}

local function forget_person(id, counts)
  local customer = k('c', id)
  local fields, gone = redis.call('HGETALL', customer), {'name'}
  for i = 1, #fields, 2 do
    local name = fields[i]
    if string.sub(name, 1, 3) == 'id:' then
      local identity = string.sub(name, 4)
      if redis.call('HGET', k('ident'), identity) == tostring(id) then
        counts.keys = counts.keys + redis.call('HDEL', k('ident'), identity)
        index_domain(identity, false)
      end
      counts.keys = counts.keys + redis.call('HDEL', k('sms_consent'), identity)
      counts.identities = counts.identities + 1
      gone[#gone + 1] = name
    elseif name == 'words' then
      local words = cjson.decode(fields[i + 1])
      index_name(id, words, false)
      counts.search = counts.search + #words
      gone[#gone + 1] = name
    end
  end
  redis.call('HDEL', customer, unpack(gone))
  for _, merge_id in ipairs(redis.call('ZRANGE', k('c', id, 'merges'), 0, -1)) do
    local merge = cjson.decode(redis.call('GET', k('merge', merge_id)))
    merge.identities = {}
    redis.call('SET', k('merge', merge_id), cjson.encode(merge))
  end
end

local function blank_messages(id, counts, freed)
  local list, count = k('t', id, 'm'), 0
  for i, text in ipairs(redis.call('LRANGE', list, 0, -1)) do
    local message = cjson.decode(text)
    counts.attachments = counts.attachments + release(message, freed)
    message.body, message.subject, message.sender, message.recipient = '', nil, nil, nil
    message.attachments, message.error, message.key = nil, nil, nil
    if message.direction ~= 'outbound' then  -- a reply keeps its provider id and flag
      message.external_id, message.meta = nil, nil
    end
    redis.call('LSET', list, i - 1, cjson.encode(message))
    count = count + 1
  end
  counts.messages = counts.messages + count
  return count
end

local function scrub_record(id, counts)
  local list = k('t', id, 'ev')
  for i, text in ipairs(redis.call('LRANGE', list, 0, -1)) do
    local event = cjson.decode(text)
    local fields = FREE_TEXT[event.k or event.kind]
    local detail = event.d or event.detail
    local changed = false
    for _, name in ipairs(fields or {}) do
      if detail[name] and detail[name] ~= '' then
        detail[name], changed = '', true
      end
    end
    if changed then
      redis.call('LSET', list, i - 1, cjson.encode(event))
      counts.events = counts.events + 1
    end
  end
end

local function erase_ticket(ticket, payload, counts, freed)
  local id = tostring(ticket.id)
  local messages = blank_messages(id, counts, freed)
  unindex_words(id, ticket.words)
  counts.search = counts.search + #ticket.words
  local route = redis.call('GET', k('t', id, 'r'))
  if route then
    local data = cjson.decode(route)
    data.subject, data.why, data.facts = nil, nil, nil
    redis.call('SET', k('t', id, 'r'), cjson.encode(data))
  end
  scrub_record(id, counts)
  record(id, 'customer_erased', payload.actor, payload.now,
         {customer_id = payload.customer, messages = messages})
  -- Live work is closed: nothing is left on it to work on, nor anyone to answer (the change
  -- path itself: the ticket's indexes, queue counts, offer and record follow).
  local state = ticket_state(id)
  if state and ACTIVE[state.status] then
    apply_moves(id, state, {{'status', 'status', state.status, 'closed'}}, payload.actor,
                num(payload.now))
    counts.closed[#counts.closed + 1] = ticket.id
  end
end

-- Dedupe entries ("ticket:message:position") and thread keys (ticket id) of the tickets.
local function forget_keys(payload, erased, counts)
  for _, field in ipairs(payload.dedupe) do
    local value = redis.call('HGET', k('dedupe'), field)
    if value and erased[string.match(value, '^(%d+):')] then
      counts.keys = counts.keys + redis.call('HDEL', k('dedupe'), field)
    end
  end
  for _, field in ipairs(payload.thread) do
    if erased[redis.call('HGET', k('thread'), field) or ''] then
      counts.keys = counts.keys + redis.call('HDEL', k('thread'), field)
    end
  end
  for _, key in ipairs(payload.rate) do
    counts.keys = counts.keys + redis.call('DEL', key)
  end
end

local function erase(payload)
  local count = 0
  for _, id in ipairs(payload.people) do
    count = count + redis.call('ZCARD', k('ix', 'c', id))
  end
  if count ~= #payload.tickets then
    return 'changed'  -- a ticket came (or moved) since the caller read them
  end
  for _, ticket in ipairs(payload.tickets) do
    if messages_digest(ticket.id) ~= ticket.digest then
      return 'changed'
    end
  end
  local counts = {identities = 0, messages = 0, attachments = 0, search = 0, keys = 0,
                  events = 0, closed = {}}
  local freed, erased = {}, {}
  for _, id in ipairs(payload.people) do
    forget_person(id, counts)
  end
  for _, ticket in ipairs(payload.tickets) do
    erased[tostring(ticket.id)] = true
    erase_ticket(ticket, payload, counts, freed)
  end
  forget_keys(payload, erased, counts)
  return {counts.identities, counts.messages, counts.attachments, counts.search, counts.keys,
          counts.events, freed, counts.closed}
end

if ARGV[1] == 'backfill' then
  return backfill(ARGV[2], ARGV[3])
elseif ARGV[1] == 'purge' then
  return purge(ARGV[2], ARGV[3], cjson.decode(ARGV[4]))
end
return erase(cjson.decode(ARGV[2]))
