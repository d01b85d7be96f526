-- Tickets newest first, filtered by queue, status and customer.
-- ARGV: queue, status, customer ("" = any), limit, cursor ("" = from the newest), scan cap.
-- Walks the smallest matching index (or, with no filter, the ids themselves: they are dense
-- and never deleted) and checks the other filters on each ticket; after `scan cap` tickets
-- it stops, so one call stays short however sparse the matches.
-- Replies {{{id, fields, route json}...}, resume}: resume is the last id looked at when the cap was hit.
local wanted = {queue = ARGV[1], status = ARGV[2], customer = ARGV[3]}
local limit, cap = tonumber(ARGV[4]), tonumber(ARGV[6])
local base, smallest = nil, nil
for field, ix in pairs({queue = k('ix', 'q', ARGV[1]), status = k('ix', 's', ARGV[2]),
                        customer = k('ix', 'c', ARGV[3])}) do
  if wanted[field] ~= '' then
    local size = redis.call('ZCARD', ix)
    if not smallest or size < smallest then
      base, smallest = ix, size
    end
  end
end

-- Up to `count` ids below `below` (nil: from the top), newest first.
local function ids_below(below, count)
  if base then
    local from = below and '(' .. below or '+inf'
    return redis.call('ZREVRANGEBYSCORE', base, from, '-inf', 'LIMIT', 0, count)
  end
  local top = below and tonumber(below) - 1 or tonumber(redis.call('HGET', k('ids'), 'ticket') or 0)
  local ids = {}
  for id = top, math.max(1, top - count + 1), -1 do
    ids[#ids + 1] = tostring(id)
  end
  return ids
end

local function matches(id)
  local v = redis.call('HMGET', k('t', id), 'queue', 'status', 'customer')
  return v[1] and (wanted.queue == '' or v[1] == wanted.queue)
    and (wanted.status == '' or v[2] == wanted.status)
    and (wanted.customer == '' or v[3] == wanted.customer)
end

local items, scanned, below = {}, 0, ARGV[5] ~= '' and ARGV[5] or nil
while true do
  local ids = ids_below(below, 100)
  if #ids == 0 then
    return {items, ''}
  end
  for _, id in ipairs(ids) do
    scanned = scanned + 1
    if matches(id) then
      items[#items + 1] = {tonumber(id), redis.call('HGETALL', k('t', id)),
                           redis.call('GET', k('t', id, 'r'))}
      if #items > limit then
        return {items, ''}
      end
    end
    if scanned >= cap then
      return {items, id}
    end
  end
  below = ids[#ids]
end
