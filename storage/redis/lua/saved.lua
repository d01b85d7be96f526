-- Saved replies (core/saved_replies.py): every write one call (ARGV[1] names it), so the
-- name check and the limit hold against another hub's save in the same instant.
--
-- {P}:saved        hash: id -> the reply as the hub wrote it (JSON: name, key, body, queues,
--                  updated_by, updated_at); stored as sent, never re-encoded (cjson would
--                  cut the time to 14 digits)
-- {P}:saved:names  hash: name key (core.saved_replies.name_key, which Lua cannot compute:
--                  hence `key` in the JSON, to free a replaced name) -> id
-- {P}:ids          `saved_reply`: the last id given, so a deleted one's is never reused
local op = ARGV[1]
local replies, names = k('saved'), k('saved', 'names')

-- The name key a stored reply holds.
local function held(text)
  return cjson.decode(text).key
end

if op == 'save' then
  -- ARGV: id ('' for a new reply), name key, JSON, the most replies kept. Replies
  -- {'saved', id}, or nothing written and {'taken', the holder's id}, {'full'}, {'missing'}.
  local id, key, text, most = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
  local holder = redis.call('HGET', names, key)
  if holder and holder ~= id then
    return {'taken', holder}
  end
  if id == '' then
    if redis.call('HLEN', replies) >= most then
      return {'full'}
    end
    id = tostring(redis.call('HINCRBY', k('ids'), 'saved_reply', 1))
  else
    local old = redis.call('HGET', replies, id)
    if not old then
      return {'missing'}
    end
    redis.call('HDEL', names, held(old))
  end
  redis.call('HSET', replies, id, text)
  redis.call('HSET', names, key, id)
  return {'saved', id}

elseif op == 'delete' then
  -- ARGV: id. Replies 1, or 0 when there is no such reply.
  local id = ARGV[2]
  local old = redis.call('HGET', replies, id)
  if not old then
    return 0
  end
  redis.call('HDEL', names, held(old))
  redis.call('HDEL', replies, id)
  return 1
end
