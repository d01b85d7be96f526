-- Record a message to the customer; nil when there is no such ticket.
-- ARGV: ticket id, now, message json (without id and channel), the channel it goes out on
-- ("": the ticket's), "1" when it is automatic, the body's words (JSON list), the actor of
-- an agent's reply (core/record.py: "agent:<name>", or "system"), "" or the SLA marks the
-- reply leaves (common.lua's write_sla: written with it when their basis holds), the final
-- statuses (JSON list: core/workflow.py's).
-- Replies {message id, channel}, or {"final", status} for an agent's reply on a final ticket.
-- An agent's reply moves a new ticket to open and is on the record as `reply_out` (then the
-- status move), the actor's; an automatic message (an acknowledgement, a HELP text) changes
-- nothing of the ticket and is on the record as `acknowledged`, the system's, with why it
-- went out. The first response is set by delivery.lua, once a provider accepts a reply.
local id, now, actor = ARGV[1], ARGV[2], ARGV[7]
local before = ticket_state(id)
if not before then
  return false
end
if ARGV[5] ~= '1' then  -- an agent's reply; a final status (ARGV[9], JSON) refuses it
  for _, status in ipairs(cjson.decode(ARGV[9])) do
    if status == before.status then
      return {'final', status}
    end
  end
end
local sla = (ARGV[8] or '') ~= '' and cjson.decode(ARGV[8]) or nil
local based = sla_based(id, sla)
local channel = ARGV[4] ~= '' and ARGV[4] or before.channel
local message = redis.call('HINCRBY', k('ids'), 'message', 1)
local field = '"channel":' .. cjson.encode(channel) .. ','
local length = redis.call('RPUSH', k('t', id, 'm'), with_id(message, ARGV[3], field))
redis.call('HSET', k('out'), message, id .. ':' .. (length - 1))  -- for its delivery reports
index_words(id, cjson.decode(ARGV[6]))
if ARGV[5] == '1' then
  local why = cjson.decode(ARGV[3]).meta.automatic
  record(id, 'acknowledged', 'system', now, {message_id = message, automatic = why})
  return {message, channel}
end
change_ticket(id, {'updated', now}, {}, before)
record(id, 'reply_out', actor, now, {message_id = message})
if before.status == 'new' then  -- an answered ticket is being worked
  apply_moves(id, ticket_state(id), {{'status', 'status', 'new', 'open'}}, actor, now)
end
if based then
  write_sla(id, sla)
end
return {message, channel}
