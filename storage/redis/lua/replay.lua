-- Tickets oldest first, each with the first contact that made it (its first inbound message:
-- a follow-up's first message may be the agent's).
-- Ticket ids are dense and never deleted, so the page is a range of ids.
-- ARGV: limit, after id (0 = from the first). Replies {{{id, fields, route json, first
-- message}...}, next}.
local limit, after = tonumber(ARGV[1]), tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', k('ids'), 'ticket') or 0)
local PAGE = 10

local function first_contact(id)
  local messages, start = k('t', id, 'm'), 0
  while true do
    local page = redis.call('LRANGE', messages, start, start + PAGE - 1)
    for _, text in ipairs(page) do
      if cjson.decode(text).direction == 'inbound' then
        return text
      end
    end
    if #page < PAGE then
      return false  -- as a reply: nil would cut the item short
    end
    start = start + PAGE
  end
end

local items = {}
for id = after + 1, math.min(last, after + limit) do
  items[#items + 1] = {id, redis.call('HGETALL', k('t', id)), redis.call('GET', k('t', id, 'r')),
                       first_contact(id)}
end
return {items, after + limit < last and tostring(after + limit) or ''}
