-- Record a reply to the customer on the ticket's channel; a new ticket becomes open. Nil when
-- there is no such ticket.
-- ARGV: ticket id, now, message json (without id and channel), actor. Replies {message id,
-- channel}.
local id, now, actor = ARGV[1], ARGV[2], ARGV[4]
local before = ticket_state(id)
if not before then
  return false
end
local message = redis.call('HINCRBY', k('ids'), 'message', 1)
local channel = '"channel":' .. cjson.encode(before.channel) .. ','
local length = redis.call('RPUSH', k('t', id, 'm'), with_id(message, ARGV[3], channel))
redis.call('HSET', k('out'), message, id .. ':' .. (length - 1))  -- for its delivery reports
local set = {'updated', now}
if not redis.call('HGET', k('t', id), 'first_responded') then
  set[#set + 1], set[#set + 2] = 'first_responded', now
end
change_ticket(id, set, {}, before)
record(id, 'reply_out', actor, now, {message_id = message})
if before.status == 'new' then  -- an answered ticket is being worked
  before = ticket_state(id)
  apply_moves(id, before, {{'status', 'status', 'new', 'open'}}, actor, now)
end
return {message, before.channel}
