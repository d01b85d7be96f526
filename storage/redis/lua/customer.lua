-- Customers: an agent's edit, a merge and its undoing, each whole (ARGV[1] names it).
--
-- {P}:c:<id>          hash: the customer (common.lua), with "words" (its name's, JSON) and,
--                     while merged away, "merged_into" (the survivor)
-- {P}:c:<id>:merges   zset: the merges it took part in, by id
-- {P}:merge:<id>      string: a merge (JSON): who, when, and exactly what moved
-- {P}:names           zset: the words of live customers' names (common.lua's index_name)
--
-- Replies {"ok", ...} or a refusal: {"missing", kind, key}, {"conflict", why} or
-- {"invalid", why}.

local function json_list(items)
  if #items == 0 then
    return '[]'  -- cjson would write an empty table as {}
  end
  return cjson.encode(items)
end

local function decoded(text)
  return text and cjson.decode(text) or {}
end

local function refusal(id)
  local state = redis.call('HMGET', k('c', id), 'created', 'merged_into')
  if not state[1] then
    return {'missing', 'customer', tostring(id)}
  end
  if state[2] then
    return {'conflict', 'customer ' .. id .. ' was merged into customer ' .. state[2]}
  end
  return nil
end

-- ARGV: id, "set" or "keep" (the name), name, its words (JSON), tags (JSON; "" keeps them).
local function edit(id, name_mode, name, words, tags)
  local refused = refusal(id)
  if refused then
    return refused
  end
  if name_mode == 'set' then
    index_name(id, decoded(redis.call('HGET', k('c', id), 'words')), false)
    index_name(id, cjson.decode(words), true)
    redis.call('HSET', k('c', id), 'name', name, 'words', words)
  end
  if tags ~= '' then
    redis.call('HSET', k('c', id), 'tags', tags)
  end
  return {'ok', redis.call('HGETALL', k('c', id))}
end

-- The customer's identities in the order they were linked: {{key, linked at}...}.
local function identities(id)
  local fields, found = redis.call('HGETALL', k('c', id)), {}
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 3) == 'id:' then
      found[#found + 1] = {string.sub(fields[i], 4), fields[i + 1]}
    end
  end
  table.sort(found, function(a, b)
    local x, y = tonumber(a[2]), tonumber(b[2])
    if x ~= y then
      return x < y
    end
    return a[1] < b[1]
  end)
  return found
end

-- Identities change hands with the time they were first linked.
local function move_identities(moving, from, to)
  for _, identity in ipairs(moving) do
    local key, linked = identity[1], identity[2]
    redis.call('HDEL', k('c', from), 'id:' .. key)
    redis.call('HSET', k('c', to), 'id:' .. key, linked)
    redis.call('HSET', k('ident'), key, to)
  end
end

-- The one place where a merge changes tickets: a live merge gives the other's tickets to
-- the survivor, an undone one gives them back, and each moved ticket's record gets the event
-- (customer_merged or customer_unmerged, by whoever merged or unmerged), in this script.
-- change_ticket moves the customer's indexes: its listing, its live tickets per channel
-- (threading) and its open count.
local function move_tickets(merge)
  local owner, former = merge.survivor, merge.other
  local kind, by, at = 'customer_merged', merge.by, merge.at
  if merge.undone_at then
    owner, former = merge.other, merge.survivor
    kind, by, at = 'customer_unmerged', merge.undone_by, merge.undone_at
  end
  local detail = {merge_id = merge.id, from = tonumber(former), to = tonumber(owner)}
  for _, id in ipairs(merge.tickets) do
    change_ticket(id, {'customer', tostring(owner)}, {})
    record(id, kind, 'agent:' .. by, at, detail)
  end
end

local function tags_of(id)
  return decoded(redis.call('HGET', k('c', id), 'tags'))
end

-- ARGV: survivor, other, by, now, folded (JSON: tag -> core/customers.py `tag_key`, for the
-- tags the two had when the hub read them; Lua cannot fold case).
local function merge(survivor, other, by, now, folded)
  if survivor == other then
    return {'invalid', 'a customer cannot be merged with itself'}
  end
  local refused = refusal(survivor) or refusal(other)
  if refused then
    return refused
  end
  local moving, keys, tickets = identities(other), {}, {}
  for i, identity in ipairs(moving) do
    keys[i] = identity[1]
  end
  for i, id in ipairs(redis.call('ZRANGE', k('ix', 'c', other), 0, -1)) do
    tickets[i] = tonumber(id)
  end
  -- core/customers.py `tags_added`: the other's tags the survivor has in no case, once each
  -- (a tag set since the hub read them is compared as it is spelled)
  local function key(tag)
    return folded[tag] or tag
  end
  local tags, had, added = tags_of(survivor), {}, {}
  for _, tag in ipairs(tags) do
    had[key(tag)] = true
  end
  local other_tags = tags_of(other)
  for _, tag in ipairs(other_tags) do
    if not had[key(tag)] then
      had[key(tag)] = true
      added[#added + 1], tags[#tags + 1] = tag, tag
    end
  end
  local id = redis.call('HINCRBY', k('ids'), 'merge', 1)
  local record = cjson.encode({id = id, survivor = tonumber(survivor), other = tonumber(other),
                               by = by, at = now, identities = keys, tickets = tickets,
                               tags = other_tags, added_tags = added})
  redis.call('SET', k('merge', id), record)
  redis.call('ZADD', k('c', survivor, 'merges'), id, id)
  redis.call('ZADD', k('c', other, 'merges'), id, id)
  move_identities(moving, other, survivor)
  move_tickets(cjson.decode(record))
  redis.call('HSET', k('c', survivor), 'tags', json_list(tags))
  redis.call('HDEL', k('c', other), 'tags')
  redis.call('HSET', k('c', other), 'merged_into', survivor)
  index_name(other, decoded(redis.call('HGET', k('c', other), 'words')), false)
  return {'ok', record}
end

-- A later merge that moved on what this one moved must be undone first.
local function depended_on(merge)
  local survivor, brought = tostring(merge.survivor), {}
  for _, tag in ipairs(merge.added_tags) do
    brought[tag] = true
  end
  local later_ids = redis.call('ZRANGEBYSCORE', k('c', survivor, 'merges'), '(' .. merge.id, '+inf')
  for _, later_id in ipairs(later_ids) do
    local later = cjson.decode(redis.call('GET', k('merge', later_id)))
    local first = 'undo merge ' .. later_id .. ' first'
    if not later.undone_at and tostring(later.other) == survivor then
      return {'conflict', 'customer ' .. survivor .. ' was merged into customer ' ..
              later.survivor .. ' since (merge ' .. later_id .. '): ' .. first}
    end
    local shared = {}
    for _, tag in ipairs(later.undone_at and {} or later.tags) do
      if brought[tag] then
        shared[#shared + 1] = tag
      end
    end
    if #shared > 0 then
      return {'conflict', 'merge ' .. later_id .. ' (customer ' .. later.other ..
              ') came later and found tag(s) ' .. table.concat(shared, ', ') ..
              ' that this merge brought: ' .. first}
    end
  end
  return nil
end

-- ARGV: the survivor, merge id, by, now.
local function unmerge(customer, merge_id, by, now)
  local text = redis.call('GET', k('merge', merge_id))
  local merge = text and cjson.decode(text)
  if not merge or tostring(merge.survivor) ~= customer then
    return {'missing', 'merge', merge_id}
  end
  if merge.undone_at then
    return {'conflict', 'merge ' .. merge_id .. ' was undone already'}
  end
  local refused = depended_on(merge)
  if refused then
    return refused
  end
  merge.undone_by, merge.undone_at = by, now
  local record = cjson.encode(merge)
  redis.call('SET', k('merge', merge_id), record)
  local moving = {}
  for i, key in ipairs(merge.identities) do
    moving[i] = {key, redis.call('HGET', k('c', customer), 'id:' .. key) or now}
  end
  move_identities(moving, customer, merge.other)
  move_tickets(merge)
  local brought, kept = {}, {}
  for _, tag in ipairs(merge.added_tags) do
    brought[tag] = true
  end
  for _, tag in ipairs(tags_of(customer)) do
    if not brought[tag] then
      kept[#kept + 1] = tag
    end
  end
  redis.call('HSET', k('c', customer), 'tags', json_list(kept))
  redis.call('HSET', k('c', merge.other), 'tags', json_list(merge.tags))
  redis.call('HDEL', k('c', merge.other), 'merged_into')
  index_name(merge.other, decoded(redis.call('HGET', k('c', merge.other), 'words')), true)
  return {'ok', record}
end

-- Customers an older hub made have no name words: the store indexes them when it opens,
-- a batch at a time. The first call fixes the last of them ("names_upto"); every customer
-- made since was indexed when it was made. ARGV: how many ids to look at. Replies {"ok",
-- {{id, name}...} of the unindexed, the last id looked at (0: nothing was left)}.
local function unindexed(count)
  redis.call('HSETNX', k('ids'), 'names_upto', redis.call('HGET', k('ids'), 'customer') or 0)
  local marks = redis.call('HMGET', k('ids'), 'names_upto', 'names_done')
  local from = tonumber(marks[2] or 0) + 1
  local last = math.min(tonumber(marks[1]), from + count - 1)
  local found = {}
  for id = from, last do
    local c = redis.call('HMGET', k('c', id), 'name', 'words', 'merged_into')
    if c[1] and c[1] ~= '' and not c[2] and not c[3] then
      found[#found + 1] = {id, c[1]}
    end
  end
  return {'ok', found, last >= from and last or 0}
end

-- ARGV: the last id looked at, then id, name and its words (JSON) of each customer found;
-- one renamed meanwhile was indexed by its edit and is left as it is.
local function index_names(last, items)
  for i = 1, #items, 3 do
    local id, name, words = items[i], items[i + 1], items[i + 2]
    local c = redis.call('HMGET', k('c', id), 'name', 'words')
    if c[1] == name and not c[2] then
      redis.call('HSET', k('c', id), 'words', words)
      index_name(id, cjson.decode(words), true)
    end
  end
  if tonumber(last) > tonumber(redis.call('HGET', k('ids'), 'names_done') or 0) then
    redis.call('HSET', k('ids'), 'names_done', last)  -- another hub may be past this batch
  end
  return {'ok'}
end

-- Addresses an older hub linked are in no domain's set (common.lua's index_domain): the
-- store indexes them when it opens, one HSCAN batch of {P}:ident at a time, the scan's
-- cursor kept in "domains_at" ("done" once through; an address linked meanwhile was
-- indexed by its ingest, and indexing one twice changes nothing). ARGV: how many to look
-- at. Replies {"ok", 1 while there is more}.
local function index_domains(count)
  local at = redis.call('HGET', k('ids'), 'domains_at') or '0'
  if at == 'done' then
    return {'ok', 0}
  end
  local scan = redis.call('HSCAN', k('ident'), at, 'COUNT', count)
  for i = 1, #scan[2], 2 do
    index_domain(scan[2][i], true)
  end
  local after = scan[1] == '0' and 'done' or scan[1]
  redis.call('HSET', k('ids'), 'domains_at', after)
  return {'ok', after == 'done' and 0 or 1}
end

local op = ARGV[1]
if op == 'edit' then
  return edit(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
elseif op == 'merge' then
  return merge(ARGV[2], ARGV[3], ARGV[4], ARGV[5], cjson.decode(ARGV[6]))
elseif op == 'unmerge' then
  return unmerge(ARGV[2], ARGV[3], ARGV[4], ARGV[5])
elseif op == 'unindexed' then
  return unindexed(tonumber(ARGV[2]))
elseif op == 'index' then
  return index_names(ARGV[2], {unpack(ARGV, 3)})
elseif op == 'domains' then
  return index_domains(tonumber(ARGV[2]))
end
return redis.error_reply('unknown customer operation ' .. tostring(op))
