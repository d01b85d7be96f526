-- Tickets oldest first, each with the first contact that made it (the head of its messages).
-- ARGV: limit, after id (0 = from the first). Replies {{id, fields, first message}..., next}.
local limit = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', k('ix', 'all'), '(' .. ARGV[2], '+inf',
                       'LIMIT', 0, limit + 1)
local items = {}
for i = 1, math.min(#ids, limit) do
  local id = ids[i]
  items[i] = {tonumber(id), redis.call('HGETALL', k('t', id)),
              redis.call('LINDEX', k('t', id, 'm'), 0)}
end
return {items, #ids > limit and ids[limit] or ''}
