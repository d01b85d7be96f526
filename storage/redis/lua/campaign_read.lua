-- Outbound campaigns: reads of several keys from one snapshot (ARGV[1] names the read).
-- The keys are drawn in campaign.lua.
local TOP_RANK = 4

local function campaign(id)
  local fields = redis.call('HGETALL', k('cp', id))
  if #fields == 0 then
    return false
  end
  return {tonumber(id), fields}
end

local function by_key(key, is_name)
  if is_name == '1' then
    key = redis.call('HGET', k('cp', 'names'), key)
    if not key then
      return false
    end
  end
  return campaign(key)
end

local function list()
  local out = {}
  for _, id in ipairs(redis.call('HVALS', k('cp', 'names'))) do
    out[#out + 1] = campaign(id)
  end
  return out
end

local function attempt(aid)
  local fields = redis.call('HGETALL', k('at', aid))
  if #fields == 0 then
    return false
  end
  local contact = redis.call('HGET', k('at', aid), 'contact')
  return {fields, redis.call('HGETALL', k('ct', contact))}
end

local function contact(id)
  local fields = redis.call('HGETALL', k('ct', id))
  if #fields == 0 then
    return false
  end
  local attempts = {}
  for _, aid in ipairs(redis.call('LRANGE', k('ct', id, 'at'), 0, -1)) do
    attempts[#attempts + 1] = redis.call('HGETALL', k('at', aid))
  end
  return {fields, attempts}
end

-- Counters, and the contacts due now in the open slots ARGV[first..].
local function counts(cid, now, first)
  if redis.call('EXISTS', k('cp', cid)) == 0 then
    return false
  end
  local due = 0
  for i = first, #ARGV do
    for rank = 0, TOP_RANK do
      due = due + redis.call('ZCOUNT', k('cp', cid, 'q', rank, ARGV[i]), '-inf', now)
    end
  end
  return {redis.call('HGETALL', k('cp', cid, 'n')), due}
end

local op = ARGV[1]
if op == 'get' then
  return by_key(ARGV[2], ARGV[3])
elseif op == 'list' then
  return list()
elseif op == 'slots' then
  return redis.call('SMEMBERS', k('cp', ARGV[2], 'slots'))
elseif op == 'attempt' then
  return attempt(ARGV[2])
elseif op == 'contact' then
  return contact(ARGV[2])
elseif op == 'dnc' then
  return redis.call('HGET', k('dnc'), ARGV[2])
elseif op == 'dnc_removed' then
  return redis.call('LRANGE', k('dnc', 'removed', ARGV[2]), 0, -1)
elseif op == 'counts' then
  return counts(ARGV[2], ARGV[3], 4)
end
return redis.error_reply('unknown campaign read ' .. tostring(op))
