-- A customer's edit or deletion of an inbound message, found by its contact key (the
-- dedupe hash keeps "ticket:message:position"). Edits arrive unordered: an older edit
-- changes nothing, and after a deletion nothing does; a deletion keeps the text.
-- ARGV: contact key, "edit" or "delete", body, at; for an edit, what it does to the
-- ticket's words (storage/redis/search.py `edit_words`): the sha1 of its messages (LRANGE
-- joined by "\n") as the caller read them, the words no text has after it (JSON list),
-- those it brings (JSON list).
-- Replies {ticket, message json}, nil, or "changed" (a message came or changed since the
-- caller read them: nothing is written, the caller reads again).
local seen = redis.call('HGET', k('dedupe'), ARGV[1])
if not seen then
  return false
end
local ticket, _, position = string.match(seen, '^(%d+):(%d+):(%d+)$')
local messages = k('t', ticket, 'm')
if ARGV[2] == 'edit' then
  if messages_digest(ticket) ~= ARGV[5] then
    return 'changed'
  end
end
local data = cjson.decode(redis.call('LINDEX', messages, position))
local at = ARGV[4]
local kind = nil
if not data.deleted_at then
  if ARGV[2] == 'delete' then
    data.deleted_at, kind = at, 'message_deleted'
  elseif not data.edited_at or tonumber(data.edited_at) < tonumber(at) then
    data.body, data.edited_at, kind = ARGV[3], at, 'message_edited'
    unindex_words(ticket, cjson.decode(ARGV[6]))
    index_words(ticket, cjson.decode(ARGV[7]))
  end
end
if kind then  -- it took effect: on the ticket's record, the customer's
  redis.call('LSET', messages, position, cjson.encode(data))
  local customer = redis.call('HGET', k('t', ticket), 'customer')
  record(ticket, kind, 'customer:' .. customer, at, {message_id = data.id})
end
return {tonumber(ticket), cjson.encode(data)}
