-- Index one ticket stored before searches existed (or index it again): its words, and the
-- assignee and channel sets, which older hubs did not keep. Idempotent.
-- ARGV: ticket id; sha1 of its messages (LRANGE joined by "\n") as the caller read them;
-- its subject's words (JSON list); its messages' words (JSON [[words]...]).
-- Replies "ok", "gone", or "changed" (a message came or changed since the caller read
-- them: nothing is written, the caller reads again).
local id = ARGV[1]
local state = ticket_state(id)
if not state then
  return 'gone'
end
if messages_digest(id) ~= ARGV[2] then
  return 'changed'
end
index_words(id, cjson.decode(ARGV[3]))
for _, message in ipairs(cjson.decode(ARGV[4])) do
  index_words(id, message)
end
for key, entry in pairs(memberships(id, state)) do
  redis.call('ZADD', key, entry[1], entry[2])
end
return 'ok'
