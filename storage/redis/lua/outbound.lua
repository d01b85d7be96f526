-- Record a reply to the customer on the ticket's channel; nil when there is no such ticket.
-- ARGV: ticket id, now, message json (without id and channel), the body's words (JSON list).
-- Replies {message id, channel}.
local id, now = ARGV[1], ARGV[2]
local current = redis.call('HMGET', k('t', id), 'channel', 'status', 'first_responded')
if not current[1] then
  return false
end
local message = redis.call('HINCRBY', k('ids'), 'message', 1)
local channel = '"channel":' .. cjson.encode(current[1]) .. ','
local length = redis.call('RPUSH', k('t', id, 'm'), with_id(message, ARGV[3], channel))
redis.call('HSET', k('out'), message, id .. ':' .. (length - 1))  -- for its delivery reports
index_words(id, cjson.decode(ARGV[4]))
local set = {'updated', now}
if not current[3] then
  set[#set + 1], set[#set + 2] = 'first_responded', now
end
if current[2] == 'new' then
  set[#set + 1], set[#set + 2] = 'status', 'open'
end
change_ticket(id, set, {})
return {message, current[1]}
