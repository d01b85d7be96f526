-- Tickets oldest first, each with the first contact that made it (the head of its messages).
-- Ticket ids are dense and never deleted, so the page is a range of ids.
-- ARGV: limit, after id (0 = from the first). Replies {{{id, fields, route json, first
-- message}...}, next}.
local limit, after = tonumber(ARGV[1]), tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', k('ids'), 'ticket') or 0)
local items = {}
for id = after + 1, math.min(last, after + limit) do
  items[#items + 1] = {id, redis.call('HGETALL', k('t', id)), redis.call('GET', k('t', id, 'r')),
                       redis.call('LINDEX', k('t', id, 'm'), 0)}
end
return {items, after + limit < last and tostring(after + limit) or ''}
