-- The words index of ticket texts (subject, messages), for searches; prepended after common.
-- The words come from Python (core/search.py, distinct within one text), so both stores
-- tokenise alike; here they are only counted:
--   {ch}:ix:w:<word>  zset: ids of the tickets with the word in any of their texts
--   {ch}:t:<id>:w     hash: word -> how many of the ticket's texts have it
--   {ch}:t:<id>:mw    hash: inbound message id -> its words, space-separated (an edit
--                     replaces them; replies and subjects never change). Apart from the
--                     counts: one long value would take the small counts out of their
--                     compact encoding (hash-max-listpack-value).

local function word_key(word)
  return k('ix', 'w', word)
end

-- Count `words` (distinct) of one of a ticket's texts in (by 1) or out (by -1) of its index:
-- a ticket joins a word's set with its first text that has the word, leaves with its last.
-- In slices, since Lua's unpack has a limit, and a long email many words.
local SLICE = 500

local function count_slice(id, words, by)
  local counts = k('t', id, 'w')
  local before = redis.call('HMGET', counts, unpack(words))
  local set, gone = {}, {}
  for i, word in ipairs(words) do
    local n = (tonumber(before[i]) or 0) + by
    if n <= 0 then
      gone[#gone + 1] = word
      redis.call('ZREM', word_key(word), id)
    else
      set[#set + 1], set[#set + 2] = word, n
      if not before[i] then
        redis.call('ZADD', word_key(word), id, id)
      end
    end
  end
  if #set > 0 then
    redis.call('HSET', counts, unpack(set))
  end
  if #gone > 0 then
    redis.call('HDEL', counts, unpack(gone))
  end
end

local function count_words(id, words, by)
  for first = 1, #words, SLICE do
    count_slice(id, {unpack(words, first, math.min(first + SLICE - 1, #words))}, by)
  end
end

local function split_words(text)
  local words = {}
  for word in string.gmatch(text or '', '%S+') do
    words[#words + 1] = word
  end
  return words
end

-- A new text of a ticket: its subject, a reply, or a customer's message (`message` given:
-- its words are kept for an edit).
local function index_words(id, words, message)
  count_words(id, words, 1)
  if message and #words > 0 then
    redis.call('HSET', k('t', id, 'mw'), message, table.concat(words, ' '))
  end
end

-- A customer's message whose body changed: its old words out, the new ones in.
local function reindex_words(id, message, words)
  count_words(id, split_words(redis.call('HGET', k('t', id, 'mw'), message)), -1)
  redis.call('HDEL', k('t', id, 'mw'), message)
  index_words(id, words, message)
end
