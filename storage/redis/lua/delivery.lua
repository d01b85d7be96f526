-- What became of an outbound message. Messages are JSON in their ticket's list; `out` finds
-- one by id (ticket and position) and `provider` by the provider's id on its channel.
-- ARGV: mode, now, then
--   record: message id, status, provider id, error   (nil: no such outbound message)
--   update: channel, provider id, status, error, final statuses...  (nil: none has that id)
-- Replies {ticket id, message json}. Times in the JSON are strings, so decoding and
-- encoding it here keeps them exact. The sender's result, and each later status the
-- message did not have, are on the ticket's record, the system's, at `now`. Every change
-- keeps the ticket's first response true: the time of its first agent reply a provider
-- accepted (core.model.FAILED_DELIVERY). Both in this one script.
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

-- An agent's reply a provider accepted: its provider id known, its delivery no failure.
local function responds(data)
  local automatic = type(data.meta) == 'table' and data.meta.automatic
  return data.direction == 'outbound' and not automatic and (data.external_id or '') ~= ''
    and data.delivery ~= 'failed' and data.delivery ~= 'undelivered'
end

local function earliest_response(ticket)
  local earliest = nil
  for _, json in ipairs(redis.call('LRANGE', k('t', ticket, 'm'), 0, -1)) do
    local data = cjson.decode(json)
    if responds(data) and (not earliest or tonumber(data.at) < tonumber(earliest)) then
      earliest = data.at
    end
  end
  return earliest
end

-- An accepted reply may be the first response; one that failed since may have been it.
local function keep_first_response(ticket, data)
  local first = redis.call('HGET', k('t', ticket), 'first_responded')
  if responds(data) then
    if not first or tonumber(data.at) < tonumber(first) then
      change_ticket(ticket, {'first_responded', data.at}, {})
    end
  elseif first and tonumber(first) == tonumber(data.at) then
    local earliest = earliest_response(ticket)
    if earliest then
      change_ticket(ticket, {'first_responded', earliest}, {})
    else
      change_ticket(ticket, {}, {'first_responded'})
    end
  end
end

-- The new status on the message and the record, then the first response it may make or
-- take back.
local function save_delivery(ticket, position, data, status, error, news)
  local saved = save(ticket, position, data, status, error, news)
  keep_first_response(ticket, data)
  return saved
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
  return save_delivery(ticket, position, data, ARGV[4], ARGV[6], true)  -- the sender's result
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
return save_delivery(ticket, position, data, ARGV[5], ARGV[6])
