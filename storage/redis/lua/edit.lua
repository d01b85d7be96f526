-- A customer's edit or deletion of an inbound message, found by its contact key (the
-- dedupe hash keeps "ticket:message:position"). Edits arrive unordered: an older edit
-- changes nothing, and after a deletion nothing does; a deletion keeps the text.
-- ARGV: contact key, "edit" or "delete", body, at, the body's words (JSON list).
-- Replies {ticket, message json} or nil.
local seen = redis.call('HGET', k('dedupe'), ARGV[1])
if not seen then
  return false
end
local ticket, message, position = string.match(seen, '^(%d+):(%d+):(%d+)$')
local data = cjson.decode(redis.call('LINDEX', k('t', ticket, 'm'), position))
local at = ARGV[4]
local kind = nil
if not data.deleted_at then
  if ARGV[2] == 'delete' then
    data.deleted_at, kind = at, 'message_deleted'
  elseif not data.edited_at or tonumber(data.edited_at) < tonumber(at) then
    data.body, data.edited_at, kind = ARGV[3], at, 'message_edited'
    reindex_words(ticket, message, cjson.decode(ARGV[5]))
  end
end
if kind then  -- it took effect: on the ticket's record, the customer's
  redis.call('LSET', k('t', ticket, 'm'), position, cjson.encode(data))
  local customer = redis.call('HGET', k('t', ticket), 'customer')
  record(ticket, kind, 'customer:' .. customer, at, {message_id = data.id})
end
return {tonumber(ticket), cjson.encode(data)}
