-- The dialer's outbound agents: every operation one call (ARGV[1] names it), atomic, so two
-- hubs never take one agent for two dials.
--
-- {P}:da:<name>           hash: agent (campaign, endpoint, ready 0/1, busy_until, updated)
-- {P}:cp:<id>:agents      set: the names of the campaign's agents

local function agent(name)
  local fields = redis.call('HGETALL', k('da', name))
  if #fields == 0 then
    return false
  end
  return {name, fields}
end

local function free(name, now)
  local busy = redis.call('HGET', k('da', name), 'busy_until')
  return not busy or busy == '' or tonumber(busy) <= tonumber(now)
end

local function put(name, cid, endpoint, ready, now)
  if redis.call('EXISTS', k('cp', cid)) == 0 then
    return 'missing'
  end
  local before = redis.call('HGET', k('da', name), 'campaign')
  if before and before ~= cid then
    redis.call('SREM', k('cp', before, 'agents'), name)
  end
  redis.call('HSET', k('da', name), 'campaign', cid, 'endpoint', endpoint, 'ready', ready,
             'updated', now)
  redis.call('SADD', k('cp', cid, 'agents'), name)
  return agent(name)
end

local function ready_agents(cid, now)
  local out = {}
  for _, name in ipairs(redis.call('SMEMBERS', k('cp', cid, 'agents'))) do
    if redis.call('HGET', k('da', name), 'ready') == '1' and free(name, now) then
      out[#out + 1] = agent(name)
    end
  end
  return out
end

local function take(name, now, busy_until)
  if redis.call('HGET', k('da', name), 'ready') ~= '1' or not free(name, now) then
    return false
  end
  redis.call('HSET', k('da', name), 'busy_until', busy_until, 'updated', now)
  return agent(name)
end

local function release(name, now, ready)
  if redis.call('EXISTS', k('da', name)) == 0 then
    return false
  end
  redis.call('HSET', k('da', name), 'busy_until', '', 'updated', now)
  if ready ~= '' then
    redis.call('HSET', k('da', name), 'ready', ready)
  end
  return agent(name)
end

local op = ARGV[1]
if op == 'put' then
  return put(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
elseif op == 'get' then
  return agent(ARGV[2])
elseif op == 'ready' then
  return ready_agents(ARGV[2], ARGV[3])
elseif op == 'take' then
  return take(ARGV[2], ARGV[3], ARGV[4])
elseif op == 'release' then
  return release(ARGV[2], ARGV[3], ARGV[4])
end
return redis.error_reply('unknown dialer operation ' .. tostring(op))
