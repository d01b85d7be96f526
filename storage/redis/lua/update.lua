-- A change of one ticket (core.model.TicketChange), checked and applied against the ticket as
-- it is, and recorded. ARGV: id, now, the change as JSON {actor, and when given: status,
-- movable (the statuses that may move to it, core/workflow.py), priority, queue, assignee
-- ("" unassigns), tags (JSON text), cause {kind, detail}, holder, in_queue, once, final (the
-- statuses whose tickets take no change, core/workflow.py)}, and
-- "" or the SLA marks the change leaves (common.lua's write_sla), written with it when their
-- basis holds and the change writes anything.
-- Replies the ticket; nil when there is none; {"held", holder}, {"moved", queue},
-- {"recorded", kind}, {"refused", status} or {"final", status} when the change does not
-- apply (nothing is written).
local id, now = ARGV[1], ARGV[2]
local change = cjson.decode(ARGV[3])
local before = ticket_state(id)
if not before then
  return false
end
if change.holder and before.assignee and before.assignee ~= change.holder then
  return {'held', before.assignee}
end
if change.in_queue and before.queue ~= change.in_queue then
  return {'moved', before.queue}
end
-- A clock's act is made once: not when its cause (kind, metric, key) is on the record.
-- The record is read in pages; a ticket's record is finite, so the walk is.
if change.once and change.cause then
  local want = change.cause.detail or {}
  local events, start = k('t', id, 'ev'), 0
  while true do
    local page = redis.call('LRANGE', events, start, start + 99)
    for _, text in ipairs(page) do
      local event = cjson.decode(text)
      local detail = event.d or event.detail or {}
      if (event.k or event.kind) == change.cause.kind and detail.metric == want.metric
          and detail.key == want.key then
        return {'recorded', change.cause.kind}
      end
    end
    if #page < 100 then
      break
    end
    start = start + 100
  end
end
local sla = ARGV[4] ~= '' and cjson.decode(ARGV[4]) or nil
local based = sla_based(id, sla)
if change.status then
  local allowed = false
  for _, status in ipairs(change.movable) do
    allowed = allowed or status == before.status
  end
  if not allowed then
    return {'refused', before.status}
  end
end

local function same_list(a, b)
  a, b = cjson.decode(a), cjson.decode(b)
  if #a ~= #b then
    return false
  end
  for i = 1, #a do
    if a[i] ~= b[i] then
      return false
    end
  end
  return true
end

local moves = {}
for _, field in ipairs({'status', 'priority', 'queue'}) do
  if change[field] and change[field] ~= before[field] then
    moves[#moves + 1] = {field, field, before[field], change[field]}
  end
end
local tags = redis.call('HGET', k('t', id), 'tags') or '[]'
if change.tags and not same_list(tags, change.tags) then
  moves[#moves + 1] = {'tags', 'tags', tags, change.tags}
end
local assignee = change.assignee
if assignee == '' and before.assignee then
  moves[#moves + 1] = {'unassigned', 'assignee', before.assignee, false}
elseif assignee and assignee ~= '' and assignee ~= before.assignee then
  moves[#moves + 1] = {'assigned', 'assignee', before.assignee, assignee}
end
-- A clock's act (`once`) is recorded on a ticket closed after its deadline; nothing else.
if (change.cause and not change.once) or #moves > 0 then
  for _, status in ipairs(change.final or {}) do
    if status == before.status then
      return {'final', before.status}
    end
  end
end
if change.cause then
  record(id, change.cause.kind, change.actor, now, change.cause.detail)
end
apply_moves(id, before, moves, change.actor, now)
if based and (change.cause or #moves > 0) then
  write_sla(id, sla)
end
return read_ticket(id)
