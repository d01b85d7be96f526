-- A follow-up of a closed ticket (storage/base.py `open_follow_up`), all or nothing: a new
-- ticket of the closed one's customer, channel, queue, priority and subject, made as an
-- ingest makes one (`created`, the agent's), then opened and given to the agent as a claim
-- does (`status`, `assigned`), so its indexes, its queue's counters and the agent's load
-- move as for a claim. The closed ticket is only read.
-- ARGV: the closed ticket's id, the agent, now, and JSON {why (the route's explanation),
--   final (the statuses that take no reply, core/workflow.py), zone and cells (as
--   ingest.lua's contact has them)}.
-- Replies the new ticket; nil when there is no such ticket to follow up; {"zone", the
-- store's report zone} when the hub's is not it, {"live", status} when the ticket is not
-- final (nothing is written then).
local closed, agent, now = ARGV[1], ARGV[2], ARGV[3]
local follow = cjson.decode(ARGV[4])
TALLY.new_cells = follow.cells

local zone = redis.call('HGET', k('ids'), 'report_zone') or 'UTC'
if zone ~= (follow.zone or 'UTC') then
  return {'zone', zone}
end
local before = ticket_state(closed)
if not before then
  return false
end
local final = false
for _, status in ipairs(follow.final) do
  final = final or status == before.status
end
if not final then
  return {'live', before.status}
end

-- The route as storage/redis/rows.py `route_json` writes an ingest's: the closed ticket's
-- subject, the explanation, the customer's facts (core.model.CustomerFacts(customer)), no
-- rule. Written as text: cjson would write the empty list of tags as {}.
local subject = cjson.decode(redis.call('GET', k('t', closed, 'r')) or '{}').subject
local route = table.concat({
  '{', subject and subject ~= '' and ('"subject":' .. cjson.encode(subject) .. ',') or '',
  '"why":', cjson.encode(follow.why),
  ',"facts":{"customer_id":', before.customer, ',"tags":[],"open_tickets":0}}',
})
local created = {
  actor = 'agent:' .. agent,
  detail = {queue = before.queue, priority = before.priority, rule = cjson.null,
            channel = before.channel, follow_up_of = tonumber(closed)},
}
local fields = {queue = before.queue, priority = before.priority}
local id = create_ticket(before.customer, before.channel, now, fields, route, created)
local moves = {{'status', 'status', 'new', 'open'}, {'assigned', 'assignee', false, agent}}
apply_moves(id, ticket_state(id), moves, created.actor, now)
return read_ticket(id)
