-- Record a message to the customer; nil when there is no such ticket.
-- ARGV: ticket id, now, message json (without id and channel), the channel it goes out on
-- ("": the ticket's), "1" when it is automatic, the body's words (JSON list).
-- Replies {message id, channel}.
-- An agent's reply moves a new ticket to open; an automatic message changes nothing of the
-- ticket. The first response is set by delivery.lua, once a provider accepts a reply.
local id, now = ARGV[1], ARGV[2]
local current = redis.call('HMGET', k('t', id), 'channel', 'status')
if not current[1] then
  return false
end
local channel = ARGV[4] ~= '' and ARGV[4] or current[1]
local message = redis.call('HINCRBY', k('ids'), 'message', 1)
local field = '"channel":' .. cjson.encode(channel) .. ','
local length = redis.call('RPUSH', k('t', id, 'm'), with_id(message, ARGV[3], field))
redis.call('HSET', k('out'), message, id .. ':' .. (length - 1))  -- for its delivery reports
index_words(id, cjson.decode(ARGV[6]))
if ARGV[5] == '1' then
  return {message, channel}
end
local set = {'updated', now}
if current[2] == 'new' then
  set[#set + 1], set[#set + 2] = 'status', 'open'
end
change_ticket(id, set, {})
return {message, channel}
