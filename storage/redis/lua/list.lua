-- Tickets newest first, filtered.
-- ARGV[1]: the filter, JSON {queue, status, customer, channel, assignee ("" = unassigned),
--   sla (a standing: running tickets only), words (each must be in the ticket's texts), ids
--   (only these tickets, newest first: walked instead of an index)}; a criterion left out
--   is any.
-- ARGV[2]: limit; ARGV[3]: cursor (list ids below it; "" = from the newest); ARGV[4]: scan cap.
-- Walks the smallest index of one criterion (or, with none, the ids themselves: they are
-- dense and never deleted) and checks the others on each ticket; after `scan cap` tickets
-- it stops, so one call stays short however sparse the matches.
-- Every loop here is bounded by the (clamped) cap, counted in tickets looked at, never by
-- the ids it meets: whatever the arguments, the script ends. (Above 2^53 a Lua number has
-- `id - 1 == id`: a walk that stopped on reaching an id could spin for ever, and Redis
-- would answer BUSY to every hub meanwhile.)
-- Replies {{{id, fields, route json, SLA marks json}...}, resume}: resume is the last id looked at when
-- the cap was hit, else "".
local CHUNK, MAX_LIMIT, MAX_CAP = 100, 1000, 100000
local where = cjson.decode(ARGV[1])

-- A whole number from low to high; `otherwise` for no number at all (or NaN).
local function bounded(raw, low, high, otherwise)
  local x = tonumber(raw)
  if not x or x ~= x then
    return otherwise
  end
  return math.min(math.max(math.floor(x), low), high)
end

local limit = bounded(ARGV[2], 1, MAX_LIMIT, 1)
local cap = bounded(ARGV[4], 1, MAX_CAP, 1)
local highest = tonumber(redis.call('HGET', k('ids'), 'ticket') or 0)
local below = bounded(ARGV[3], 0, highest + 1, highest + 1)  -- past every id: the newest

local FIELDS = {'queue', 'status', 'customer', 'channel', 'assignee', 'sla'}

local function criterion_index(field, value)
  if field == 'assignee' then
    return value == '' and k('ix', 'na') or k('ix', 'a', value)
  end
  local short = {queue = 'q', status = 's', customer = 'c', channel = 'ch', sla = 'sla'}
  return k('ix', short[field], value)
end

local words = type(where.words) == 'table' and where.words or {}
local base, smallest = nil, nil
local function consider(ix)
  local size = redis.call('ZCARD', ix)
  if not smallest or size < smallest then
    base, smallest = ix, size
  end
end
for _, field in ipairs(FIELDS) do
  if type(where[field]) == 'string' then
    consider(criterion_index(field, where[field]))
  end
end
for _, word in ipairs(words) do
  consider(word_key(word))
end

local chosen = type(where.ids) == 'table' and where.ids or nil
if chosen then
  base = nil  -- the named ids are walked, so every criterion is checked on each
end

-- Up to `count` ids below `from`, newest first.
local function ids_below(from, count)
  if chosen then
    local ids = {}
    for _, id in ipairs(chosen) do
      if #ids >= count then
        break
      end
      if tonumber(id) and tonumber(id) < from then
        ids[#ids + 1] = string.format('%d', id)
      end
    end
    return ids
  end
  if base then
    return redis.call('ZREVRANGEBYSCORE', base, '(' .. num(from), '-inf', 'LIMIT', 0, count)
  end
  local ids = {}
  for i = 1, math.min(count, from - 1) do
    ids[i] = string.format('%d', from - i)
  end
  return ids
end

local function matches(id)
  local v = redis.call('HMGET', k('t', id), unpack(FIELDS))
  if not v[1] then
    return false
  end
  for i, field in ipairs(FIELDS) do
    local want = where[field]
    if type(want) == 'string' and (v[i] or '') ~= want then
      return false
    end
  end
  if type(where.sla) == 'string' and not RUNNING[v[2]] then
    return false  -- a paused or solved ticket stands nowhere (memberships says the same)
  end
  for _, word in ipairs(words) do
    local ix = word_key(word)
    if ix ~= base and not redis.call('ZSCORE', ix, id) then
      return false
    end
  end
  return true
end

local items, scanned = {}, 0
for _ = 1, math.ceil(cap / CHUNK) do
  local wanted = math.min(CHUNK, cap - scanned)
  local ids = ids_below(below, wanted)
  for _, id in ipairs(ids) do
    scanned = scanned + 1
    if matches(id) then
      items[#items + 1] = {tonumber(id), redis.call('HGETALL', k('t', id)),
                           redis.call('GET', k('t', id, 'r')),
                           redis.call('GET', k('t', id, 'clk'))}
      if #items > limit then
        return {items, ''}
      end
    end
  end
  if #ids < wanted then  -- the index (or the ids) ran out
    return {items, ''}
  end
  below = tonumber(ids[#ids])
end
return {items, string.format('%d', below)}
