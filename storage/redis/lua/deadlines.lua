-- SLA deadlines: every operation one call (ARGV[1] names it), atomic, so two hubs never
-- claim one deadline while its claim lasts. The keys are common.lua's (set_deadlines).

local Z, D = k('sla'), k('sla', 'd')

local function parts(value)
  return string.match(value, '^(.*)|([^|]*)$')
end

-- ARGV: "set", ticket id, then (metric, kind, key, due) for each deadline
local function set(id)
  local wanted = {}
  for i = 3, #ARGV, 4 do
    wanted[#wanted + 1] = {ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]}
  end
  set_deadlines(id, wanted)
  return true
end

-- ARGV: "marks", ticket id, the marks (JSON, as common.lua's write_sla reads them) ->
-- whether they were written; nil for no such ticket
local function marks(id, text)
  if not redis.call('HGET', k('t', id), 'status') then
    return nil
  end
  local sla = cjson.decode(text)
  if not sla_based(id, sla) then
    return 0
  end
  write_sla(id, sla)
  return 1
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
  drop_deadline(string.match(slot, '^([^|]*)'), slot)
  return true
end

local op = ARGV[1]
if op == 'set' then
  return set(ARGV[2])
elseif op == 'marks' then
  return marks(ARGV[2], ARGV[3])
elseif op == 'claim' then
  return claim(ARGV[2], ARGV[3], tonumber(ARGV[4]))
end
return finish(ARGV[2], ARGV[3], ARGV[4])
