-- Tickets newest first, filtered by queue, status and customer.
-- ARGV: queue, status, customer ("" = any), limit, cursor ("" = from the newest), scan cap.
-- Walks the smallest matching index and checks the other filters on each ticket; after
-- `scan cap` tickets it stops, so one call stays short however sparse the matches.
-- Replies {{id, fields}..., resume}: resume is the last id looked at when the cap was hit.
local wanted = {queue = ARGV[1], status = ARGV[2], customer = ARGV[3]}
local limit, cap = tonumber(ARGV[4]), tonumber(ARGV[6])
local base, smallest = k('ix', 'all'), nil
for field, ix in pairs({queue = k('ix', 'q', ARGV[1]), status = k('ix', 's', ARGV[2]),
                        customer = k('ix', 'c', ARGV[3])}) do
  if wanted[field] ~= '' then
    local size = redis.call('ZCARD', ix)
    if not smallest or size < smallest then
      base, smallest = ix, size
    end
  end
end
local function matches(id)
  local v = redis.call('HMGET', k('t', id), 'queue', 'status', 'customer')
  return (wanted.queue == '' or v[1] == wanted.queue)
    and (wanted.status == '' or v[2] == wanted.status)
    and (wanted.customer == '' or v[3] == wanted.customer)
end
local items, scanned = {}, 0
local from = ARGV[5] == '' and '+inf' or '(' .. ARGV[5]
while #items <= limit do
  local ids = redis.call('ZREVRANGEBYSCORE', base, from, '-inf', 'LIMIT', 0, 100)
  if #ids == 0 then
    return {items, ''}
  end
  for _, id in ipairs(ids) do
    scanned = scanned + 1
    if matches(id) then
      items[#items + 1] = {tonumber(id), redis.call('HGETALL', k('t', id))}
      if #items > limit then
        return {items, ''}
      end
    end
    if scanned >= cap then
      return {items, id}
    end
  end
  from = '(' .. ids[#ids]
end
return {items, ''}
