-- What became of an outbound message. Messages are JSON in their ticket's list; `out` finds
-- one by id (ticket and position) and `provider` by the provider's id on its channel.
-- ARGV: mode, now, then
--   record: message id, status, provider id, error   (nil: no such outbound message)
--   update: channel, provider id, status, error, final statuses...  (nil: none has that id)
-- Replies {ticket id, message json}. Times in the JSON are strings, so decoding and
-- encoding it here keeps them exact. The sender's result, and each later status the
-- message did not have, are on the ticket's record, the system's, at `now`.
local function locate(message)
  local where = redis.call('HGET', k('out'), message)
  if not where then
    return nil
  end
  local ticket, position = string.match(where, '^(%d+):(%d+)$')
  local data = cjson.decode(redis.call('LINDEX', k('t', ticket, 'm'), position))
  return ticket, position, data
end

local now = ARGV[2]

local function save(ticket, position, data, status, error, news)
  if news or data.delivery ~= status then
    local detail = {message_id = data.id, status = status}
    if error ~= '' then
      detail.error = error
    end
    record(ticket, 'delivery', 'system', now, detail)
  end
  data.delivery, data.error = status, error
  local json = cjson.encode(data)
  redis.call('LSET', k('t', ticket, 'm'), position, json)
  return {tonumber(ticket), json}
end

local function provider_key(channel, provider)
  return channel .. ':' .. provider
end

if ARGV[1] == 'record' then
  local ticket, position, data = locate(ARGV[3])
  if not ticket then
    return false
  end
  if (data.external_id or '') ~= '' then
    redis.call('HDEL', k('provider'), provider_key(data.channel, data.external_id))
  end
  if ARGV[5] ~= '' then
    redis.call('HSET', k('provider'), provider_key(data.channel, ARGV[5]), ARGV[3])
  end
  data.external_id = ARGV[5]
  return save(ticket, position, data, ARGV[4], ARGV[6], true)  -- the sender's result
end

local message = redis.call('HGET', k('provider'), provider_key(ARGV[3], ARGV[4]))
if not message then
  return false
end
local ticket, position, data = locate(message)
for i = 7, #ARGV do
  if data.delivery == ARGV[i] then
    return {tonumber(ticket), cjson.encode(data)}
  end
end
return save(ticket, position, data, ARGV[5], ARGV[6])
