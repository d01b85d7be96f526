-- Take words out of one ticket's index: those an older hub indexed for its automatic
-- messages (acknowledgements) that none of its other texts has. Idempotent.
-- ARGV: ticket id; sha1 of its messages (LRANGE joined by "\n") as the caller read them;
-- the words (JSON list).
-- Replies "ok", "gone", or "changed" (a message came or changed since the caller read
-- them: nothing is written, the caller reads again).
local id = ARGV[1]
if not ticket_state(id) then
  return 'gone'
end
if messages_digest(id) ~= ARGV[2] then
  return 'changed'
end
unindex_words(id, cjson.decode(ARGV[3]))
return 'ok'
