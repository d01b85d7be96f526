-- SLA deadlines: every operation one call (ARGV[1] names it), atomic, so two hubs never
-- claim one deadline while its claim lasts.
--
-- {P}:sla            zset: "<ticket>|<metric>|<kind>" by when it may next be claimed (its
--                    due time, then the end of a claim's lease)
-- {P}:sla:d          hash: the same member -> "<key>|<due>" (the clock's instance, due time)
-- {P}:t:<id>:sla     set: the ticket's members

local Z, D = k('sla'), k('sla', 'd')

local function parts(value)
  return string.match(value, '^(.*)|([^|]*)$')
end

local function drop(id, slot)
  redis.call('ZREM', Z, slot)
  redis.call('HDEL', D, slot)
  redis.call('SREM', k('t', id, 'sla'), slot)
end

-- ARGV: "set", ticket id, then (metric, kind, key, due) for each deadline
local function set(id)
  local wanted, order = {}, {}
  for i = 3, #ARGV, 4 do
    local slot = id .. '|' .. ARGV[i] .. '|' .. ARGV[i + 1]
    wanted[slot] = {ARGV[i + 2] .. '|' .. ARGV[i + 3], ARGV[i + 3]}
    order[#order + 1] = slot
  end
  for _, slot in ipairs(redis.call('SMEMBERS', k('t', id, 'sla'))) do
    if not wanted[slot] then
      drop(id, slot)
    end
  end
  for _, slot in ipairs(order) do
    local value, due = wanted[slot][1], wanted[slot][2]
    if redis.call('HGET', D, slot) ~= value then  -- an unchanged one keeps its claim
      redis.call('HSET', D, slot, value)
      redis.call('ZADD', Z, due, slot)
      redis.call('SADD', k('t', id, 'sla'), slot)
    end
  end
  return true
end

-- ARGV: "claim", now, lease end, limit -> {member, "<key>|<due>"} for each claimed
local function claim(now, lease_end, limit)
  local out = {}
  for _, slot in ipairs(redis.call('ZRANGEBYSCORE', Z, '-inf', now, 'LIMIT', 0, limit)) do
    redis.call('ZADD', Z, lease_end, slot)
    out[#out + 1] = {slot, redis.call('HGET', D, slot)}
  end
  return out
end

-- ARGV: "finish", member, key, due: dropped unless replaced since the claim
local function finish(slot, key, due)
  local value = redis.call('HGET', D, slot)
  if not value then
    return false
  end
  local held, at = parts(value)
  if held ~= key or math.abs(tonumber(at) - tonumber(due)) >= 0.001 then
    return false
  end
  drop(string.match(slot, '^([^|]*)'), slot)
  return true
end

local op = ARGV[1]
if op == 'set' then
  return set(ARGV[2])
elseif op == 'claim' then
  return claim(ARGV[2], ARGV[3], tonumber(ARGV[4]))
end
return finish(ARGV[2], ARGV[3], ARGV[4])
