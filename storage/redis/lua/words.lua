-- The words index of ticket texts (subject, messages), for searches; prepended after common.
-- The words come from Python (core/search.py, distinct within one text), so both stores
-- tokenise alike:
--   {ch}:ix:w:<word>  zset: ids of the tickets with the word in any of their texts
-- A ticket's own words are not kept beside it: they are those of its subject and messages,
-- which the caller works out again for the one change that can take a word away from a
-- ticket, a customer's edit (edit.lua). Hubs before this kept them counted, in hashes
-- {ch}:t:<id>:w and :mw that nothing reads now.

local function word_key(word)
  return k('ix', 'w', word)
end

-- A new text of a ticket (its subject, a reply, a customer's message): the ticket joins the
-- set of each of its words (a ticket already there stays as it is).
local function index_words(id, words)
  for _, word in ipairs(words) do
    redis.call('ZADD', word_key(word), id, id)
  end
end

-- Words none of the ticket's texts has any more.
local function unindex_words(id, words)
  for _, word in ipairs(words) do
    redis.call('ZREM', word_key(word), id)
  end
end

-- The sha1 of a ticket's messages (LRANGE joined by "\n"): callers that worked out words
-- from the messages they read send theirs, and a script writes nothing when they differ (a
-- message came or changed in between).
local function messages_digest(id)
  return redis.sha1hex(table.concat(redis.call('LRANGE', k('t', id, 'm'), 0, -1), '\n'))
end
