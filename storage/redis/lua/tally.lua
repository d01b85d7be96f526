-- Report rollups (core/tally.py): `record` folds every event it appends into its ticket's
-- tally and the cells of the ticket's creation periods, in the script of the change.
-- {P}:rp                hash: ticket -> its tally (JSON, times as strings of 17 digits)
-- {P}:r<kind>:<level>:<t>  hash: "queue\tchannel\tagent\tname" -> count, and the same
--                       field with "\ts" after it -> the total of a duration (level h, d or
--                       m: the UTC hour, day or month of creation starting at epoch second
--                       t); one hash for each kind of cell (`TALLY.hash`)
-- {P}:rh                hash: ticket -> its running hold while one runs: "created\theld
--                       \tsince\tqueue\tchannel\tagent\tticket"
-- {P}:rhz               zset: the same holds by the ticket's creation (a report reads its
--                       window's)
-- {P}:ids horizon       the latest time of an event the cells count
-- {P}:rr:<customer>     zset: the customer's resolved tickets that are not repeat contacts
--                       yet, by resolution time (a customer's message finds them)
-- One table holds the helpers: the scripts share Lua's 200 locals of a chunk.
local TALLY = {
  FOLLOW_UP = 72 * 3600,
  LOG_RATIO = math.log(1 + 1 / 32),
  MOVES = {created = true, message_in = true, reply_out = true, delivery = true,
           queue = true, customer_merged = true, customer_unmerged = true, status = true,
           assigned = true, unassigned = true, sla_breach = true},
  DONE = {resolved = true, closed = true},
  FAILED = {failed = true, undelivered = true},
  -- The SLA clocks by their letters (core/tally.py `SLA_CLOCKS`): `mb` keeps those breached.
  CLOCKS = {first_response = 'f', next_response = 'n', periodic_update = 'p', resolution = 'r'},
  fresh = {},  -- ticket -> the tally of a ticket created in this script, not saved yet
  new_cells = nil,  -- {day, month} of a ticket created in this script, or nil
  horizon = nil,  -- the horizon as this script last read or wrote it
}

function TALLY.bin(seconds)
  if seconds < 1 then
    return 0
  end
  return 1 + math.floor(math.log(seconds) / TALLY.LOG_RATIO)
end

-- An agent's durations: four of those bins to one (core/tally.py `agent_bin_of`).
function TALLY.agent_bin(seconds)
  return math.floor((TALLY.bin(seconds) + 3) / 4)
end

-- The first second of the UTC month holding `day` (a day's first second): the civil date
-- from the day number (H. Hinnant's days_from_civil, inverted).
function TALLY.month_start(day)
  local z = day / 86400 + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
                          - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local mday = doy - math.floor((153 * mp + 2) / 5) + 1
  return day - (mday - 1) * 86400
end

-- A ticket's cells: its UTC hour, and its day and month, which the hub works out when the
-- store's calendar is not UTC's (core/periods.py: Lua has no zone database) and the tally
-- keeps (`pd`, `pm`).
function TALLY.periods(t)
  local hour = math.floor(t.c / 3600) * 3600
  if t.pd then
    return {{'h', hour}, {'d', t.pd}, {'m', t.pm}}
  end
  local day = math.floor(t.c / 86400) * 86400
  return {{'h', hour}, {'d', day}, {'m', TALLY.month_start(day)}}
end

local function text_or(value, default)
  if type(value) == 'string' then
    return value
  end
  return default
end

function TALLY.created(at, d)
  local priority = text_or(d.priority, '')
  if priority == '' then
    priority = 'normal'
  end
  local queue = text_or(d.queue, '')
  local cells = TALLY.new_cells or {}
  -- ch: a follow-up's channel (an ingest's comes with its message)
  return {c = at, q = queue, rt = queue .. '|' .. priority .. '|' .. text_or(d.rule, ''),
          ch = text_or(d.channel, ''), rp = {}, held = {}, ag = {}, rep = false, br = false,
          mb = '', pd = cells[1], pm = cells[2]}
end

function TALLY.decode(text)
  local t = cjson.decode(text)
  t.c, t.res, t.hs, t.ak = tonumber(t.c), tonumber(t.res), tonumber(t.hs), tonumber(t.ak)
  t.pd, t.pm = tonumber(t.pd), tonumber(t.pm)
  t.mb = t.mb or ''  -- saved before the clocks were kept: the upgrade's fill writes them
  for _, reply in ipairs(t.rp) do
    reply[2] = tonumber(reply[2])
  end
  for agent, seconds in pairs(t.held) do
    t.held[agent] = tonumber(seconds)
  end
  return t
end

function TALLY.encode(t)
  local replies, held = {}, {}
  for i, r in ipairs(t.rp) do
    replies[i] = {r[1], num(r[2]), r[3]}
  end
  for agent, seconds in pairs(t.held) do
    held[agent] = num(seconds)
  end
  return cjson.encode({c = num(t.c), q = t.q, rt = t.rt, ch = t.ch, cu = t.cu, rp = replies,
                       res = t.res and num(t.res), as = t.as, hs = t.hs and num(t.hs),
                       ak = t.ak and num(t.ak),
                       held = held, ag = t.ag, rep = t.rep, br = t.br, mb = t.mb,
                       pd = t.pd and num(t.pd), pm = t.pm and num(t.pm)})
end

function TALLY.handled(t, agent)
  for _, name in ipairs(t.ag) do
    if name == agent then
      return
    end
  end
  t.ag[#t.ag + 1] = agent
  table.sort(t.ag)
end

function TALLY.stop(t, at)
  if t.hs and t.as then
    t.held[t.as] = (t.held[t.as] or 0) + math.max(0, at - t.hs)
  end
  t.hs = nil
end

-- Status and assignee, and the hold they make (core/tally.py `Tally._move`).
function TALLY.move(t, kind, at, d)
  if kind == 'status' then
    local before = t.res
    if TALLY.DONE[d.to] then
      t.res = t.res or at
    else
      t.res = nil
    end
    if t.res ~= before then
      t.rep = false
    end
  elseif kind == 'assigned' or kind == 'unassigned' then
    TALLY.stop(t, at)
    t.as = nil
    if type(d.to) == 'string' and d.to ~= '' then
      t.as = d.to
      TALLY.handled(t, t.as)
    end
  end
  if t.res then
    TALLY.stop(t, at)
  elseif t.as and not t.hs then
    t.hs = at
  end
end

-- A clock's letter added to those breached, kept in order (core/tally.py `Tally._missed`).
function TALLY.missed(t, letter)
  if not letter or string.find(t.mb, letter, 1, true) then
    return
  end
  local letters = {}
  for at = 1, #t.mb do
    letters[at] = string.sub(t.mb, at, at)
  end
  letters[#letters + 1] = letter
  table.sort(letters)
  t.mb = table.concat(letters)
end

function TALLY.add(t, kind, actor, at, d)
  if kind == 'message_in' then
    if t.ch == '' then
      t.ch = text_or(d.channel, '')
    end
    if not t.cu and string.sub(actor, 1, 9) == 'customer:' then
      t.cu = string.sub(actor, 10)
    end
    if not t.ak and string.sub(actor, 1, 9) == 'customer:' then
      t.ak = at  -- when the customer first wrote: the first response counts from here
    end
  elseif kind == 'reply_out' then
    if string.sub(actor, 1, 6) == 'agent:' and type(d.message_id) == 'number' then
      if t.cu then  -- before the customer wrote (a follow-up) it answers nothing
        t.rp[#t.rp + 1] = {d.message_id, at, string.sub(actor, 7)}
      end
      TALLY.handled(t, string.sub(actor, 7))
    end
  elseif kind == 'delivery' and TALLY.FAILED[d.status] then
    local kept = {}
    for _, r in ipairs(t.rp) do
      if r[1] ~= d.message_id then
        kept[#kept + 1] = r
      end
    end
    t.rp = kept
  elseif kind == 'queue' then
    t.q = text_or(d.to, '')
  elseif kind == 'customer_merged' or kind == 'customer_unmerged' then
    t.cu = tostring(d.to)
  elseif kind == 'sla_breach' then
    t.br = true
    TALLY.missed(t, TALLY.CLOCKS[d.metric])
  end
  TALLY.move(t, kind, at, d)
end

function TALLY.first(t)
  local first
  for _, r in ipairs(t.rp) do
    if not first or r[2] < first[2] or (r[2] == first[2] and r[3] < first[3]) then
      first = r
    end
  end
  return first
end

-- What the ticket adds to its cells: field -> {count, total} (core/tally.py `contribution`).
function TALLY.contribution(t)
  local out, cell = {}, t.q .. '\t' .. t.ch .. '\t'
  local function put(agent, name, n, total)
    out[cell .. agent .. '\t' .. name] = {n, total}
  end
  local function duration(agent, name, seconds)
    local bin = agent == '' and TALLY.bin(seconds) or TALLY.agent_bin(seconds)
    put(agent, name .. bin, 1, seconds)
  end
  put('', 'created', 1, 0)
  put('', 'rt:' .. t.rt, 1, 0)
  if t.br then
    put('', 'rb:' .. t.rt, 1, 0)
  end
  for at = 1, #t.mb do
    put('', 'rm' .. string.sub(t.mb, at, at) .. ':' .. t.rt, 1, 0)
  end
  local first = TALLY.first(t)
  if first then
    local asked = t.ak or t.c  -- a tally saved before `ak` was kept: its customer wrote at c
    duration('', 'f', first[2] - asked)
    duration(first[3], 'a', first[2] - asked)
  end
  if t.res then
    duration('', 'r', t.res - t.c)
    if #t.rp == 1 then
      put('', 'one_touch', 1, 0)
    end
    if t.rep then
      put('', 'repeat', 1, 0)
    end
  end
  local running = t.hs and t.as
  for _, agent in ipairs(t.ag) do
    put(agent, 'handled', 1, 0)
    if agent ~= running then
      duration(agent, 'h', t.held[agent] or 0)
    end
  end
  -- Each agent's figures once more under queue and channel "*" (a report of every queue).
  local every = {}
  for field, value in pairs(out) do
    local agent, name = string.match(field, '^[^\t]*\t[^\t]*\t([^\t]+)\t(.*)$')
    if agent then
      every['*\t*\t' .. agent .. '\t' .. name] = value
    end
  end
  for field, value in pairs(every) do
    out[field] = value
  end
  return out
end

-- The hash of a cell's field, by what reads it (core/tally.py `kind_of`): rv (a volume
-- series), rt (a summary's other figures of tickets), ra (the agents' of every queue), rs
-- (the agents' per queue and channel).
function TALLY.hash(field)
  local queue, agent, name = string.match(field, '^([^\t]*)\t[^\t]*\t([^\t]*)\t(.*)$')
  if agent ~= '' then
    return queue == '*' and 'ra' or 'rs'
  end
  local second = string.sub(name, 2, 2)
  if name == 'one_touch' or name == 'repeat'
      or (string.sub(name, 1, 1) == 'r' and second ~= ':' and second ~= 't' and second ~= 'b') then
    return 'rt'
  end
  return 'rv'
end

-- Add the difference between two contributions to the cells of every creation period.
function TALLY.write(t, before, after)
  local changes = {}
  for field, v in pairs(after) do
    local b = before[field] or {0, 0}
    if v[1] ~= b[1] or v[2] ~= b[2] then
      changes[#changes + 1] = {field, v[1] - b[1], v[2] - b[2]}
    end
  end
  for field, b in pairs(before) do
    if not after[field] then
      changes[#changes + 1] = {field, -b[1], -b[2]}
    end
  end
  for _, period in ipairs(TALLY.periods(t)) do
    local at = string.format('%d', period[2])
    for _, change in ipairs(changes) do
      local cells = k(TALLY.hash(change[1]), period[1], at)
      if change[2] ~= 0 then
        redis.call('HINCRBY', cells, change[1], change[2])
      end
      if change[3] ~= 0 then
        redis.call('HINCRBYFLOAT', cells, change[1] .. '\ts', num(change[3]))
      end
    end
  end
end

-- Resolved and not yet a repeat contact: where a customer's message looks.
function TALLY.waiting(t)
  return t.cu and t.res and not t.rep
end

function TALLY.save(id, t, was)
  redis.call('HSET', k('rp'), id, TALLY.encode(t))
  local hold = t.hs and t.as and table.concat({num(t.c), num(t.held[t.as] or 0), num(t.hs),
                                               t.q, t.ch, t.as, id}, '\t')
  local held = was and was.running and redis.call('HGET', k('rh'), id)
  if held and held ~= hold then
    redis.call('ZREM', k('rhz'), held)
    redis.call('HDEL', k('rh'), id)
  end
  if hold and held ~= hold then
    redis.call('HSET', k('rh'), id, hold)
    redis.call('ZADD', k('rhz'), num(t.c), hold)
  end
  if was and was.waiting and (was.cu ~= t.cu or not TALLY.waiting(t)) then
    redis.call('ZREM', k('rr', was.cu), id)
  end
  if TALLY.waiting(t) then
    redis.call('ZADD', k('rr', t.cu), num(t.res), id)
  end
end

function TALLY.load(id)
  local fresh = TALLY.fresh[id]
  if fresh then  -- created in this script, counted from its next event on
    TALLY.fresh[id] = nil
    return fresh, {}, nil
  end
  local text = redis.call('HGET', k('rp'), id)
  if not text then
    return nil
  end
  local t = TALLY.decode(text)
  local was = {cu = t.cu, waiting = TALLY.waiting(t), running = t.hs and t.as}
  return t, TALLY.contribution(t), was
end

-- The customer wrote at `at`: their other tickets resolved in the 72 h before are repeat
-- contacts now.
function TALLY.came_back(customer, at, skip)
  local ids = redis.call('ZRANGEBYSCORE', k('rr', customer), num(at - TALLY.FOLLOW_UP),
                         '(' .. num(at))
  for _, other in ipairs(ids) do
    if other ~= skip then
      local t, before, was = TALLY.load(other)
      if t and t.cu == customer and not t.rep then
        t.rep = true
        TALLY.save(other, t, was)
        TALLY.write(t, before, TALLY.contribution(t))
      end
    end
  end
end

tally_event = function(id, kind, actor, at, detail)
  if not TALLY.MOVES[kind] then
    return
  end
  local now, d = tonumber(at), detail or {}
  id = tostring(id)
  TALLY.horizon = TALLY.horizon or tonumber(redis.call('HGET', k('ids'), 'horizon') or '0')
  if now > TALLY.horizon then
    redis.call('HSET', k('ids'), 'horizon', num(now))
    TALLY.horizon = now
  end
  if kind == 'created' then
    -- Only a script making the ticket records it, and an event of the ticket next (an
    -- ingest's message, a follow-up's opening): the tally is saved and the cells count both
    -- then, without writing and reading the tally back in between.
    TALLY.fresh[id] = TALLY.created(now, d)
    return
  end
  local t, before, was = TALLY.load(id)
  if not t then
    return  -- created before the rollups and not backfilled: nothing counts it
  end
  TALLY.add(t, kind, actor, now, d)
  if kind == 'message_in' and string.sub(actor, 1, 9) == 'customer:' then
    local customer = string.sub(actor, 10)
    TALLY.came_back(customer, now, id)
    if t.cu == customer and t.res and t.res < now and now <= t.res + TALLY.FOLLOW_UP then
      t.rep = true
    end
  end
  TALLY.save(id, t, was)
  TALLY.write(t, before, TALLY.contribution(t))
end
