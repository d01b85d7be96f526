-- Customers: reads of several keys from one snapshot (ARGV[1] names the read). The keys are
-- drawn in customer.lua. A customer is replied as {id, its hash's fields}.

local function customer(id)
  return {tonumber(id), redis.call('HGETALL', k('c', id))}
end

-- ARGV: limit, below ("" = from the newest), scan cap. Walks the ids down (they are dense
-- and never deleted), skipping customers merged away. Replies {customers, resume}: resume
-- is the last id looked at when the cap was hit.
local function newest(limit, below, cap)
  local id = below ~= '' and tonumber(below) - 1 or tonumber(redis.call('HGET', k('ids'), 'customer') or 0)
  local found, scanned = {}, 0
  while id >= 1 do
    if redis.call('HEXISTS', k('c', id), 'merged_into') == 0 then
      found[#found + 1] = customer(id)
      if #found > limit then
        return {found, ''}
      end
    end
    scanned = scanned + 1
    if scanned >= cap and id > 1 then
      return {found, tostring(id)}
    end
    id = id - 1
  end
  return {found, ''}
end

-- Byte order, as the index sorts, whatever collation the server's locale sets for Lua's <.
local function before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x < y
    end
  end
  return #a < #b
end

local function starts(word, prefix)
  return string.sub(word, 1, #prefix) == prefix
end

-- Whether the index met the customer at `word` first (the first of its words that starts
-- with the query's first word) and its name has a word starting with each other query word.
local function found_at(id, word, query)
  local words = cjson.decode(redis.call('HGET', k('c', id), 'words') or '[]')
  for _, other in ipairs(words) do
    if starts(other, query[1]) and before(other, word) then
      return false
    end
  end
  for i = 2, #query do
    local any = false
    for _, other in ipairs(words) do
      any = any or starts(other, query[i])
    end
    if not any then
      return false
    end
  end
  return true
end

local function owners(identities)
  local ids, seen = {}, {}
  for _, key in ipairs(identities) do
    local owner = tonumber(redis.call('HGET', k('ident'), key))
    if owner and not seen[owner] then
      seen[owner], ids[#ids + 1] = true, owner
    end
  end
  table.sort(ids, function(a, b) return a > b end)
  return ids, seen
end

-- ARGV: identity keys (JSON), query words (JSON), first page ("1"/"0"), hits wanted, after
-- word, after id, scan cap. Replies {owners (first page only), {{word, id, fields}...},
-- resume word, resume id}: the resume entry is the last one looked at when the cap was hit.
local function search(identities, query, first_page, count, after_word, after_id, cap)
  local ids, excluded = owners(identities)
  local shown = {}
  if first_page == '1' then
    for i, id in ipairs(ids) do
      shown[i] = customer(id)
    end
  end
  local hits, scanned = {}, 0
  if #query == 0 or count == 0 then
    return {shown, hits, '', ''}
  end
  local min = '[' .. query[1]
  if after_word ~= '' then
    min = '(' .. after_word .. '\0' .. string.format('%012d', tonumber(after_id))
  end
  while true do
    local batch = redis.call('ZRANGEBYLEX', k('names'), min, '[' .. query[1] .. '\255',
                             'LIMIT', 0, 100)
    if #batch == 0 then
      return {shown, hits, '', ''}
    end
    for _, member in ipairs(batch) do
      local zero = string.find(member, '\0', 1, true)
      local word, id = string.sub(member, 1, zero - 1), tonumber(string.sub(member, zero + 1))
      if not excluded[id] and found_at(id, word, query) then
        hits[#hits + 1] = {word, id, redis.call('HGETALL', k('c', id))}
        if #hits >= count then
          return {shown, hits, '', ''}
        end
      end
      scanned = scanned + 1
      if scanned >= cap then
        return {shown, hits, word, tostring(id)}
      end
    end
    min = '(' .. batch[#batch]
  end
end

-- ARGV: domain, after (an identity key, "" from the first), addresses wanted. Replies
-- {{key, owner id, owner's fields}...}: the next addresses at the domain, in key order
-- (an identity erased meanwhile is skipped).
local function by_domain(domain, after, count)
  local min = after ~= '' and '(' .. after or '-'
  local found = {}
  for _, key in ipairs(redis.call('ZRANGEBYLEX', k('dom', domain), min, '+', 'LIMIT', 0, count)) do
    local owner = redis.call('HGET', k('ident'), key)
    if owner then
      found[#found + 1] = {key, tonumber(owner), redis.call('HGETALL', k('c', owner))}
    end
  end
  return found
end

local function merges(id)
  local found = {}
  for i, merge_id in ipairs(redis.call('ZRANGE', k('c', id, 'merges'), 0, -1)) do
    found[i] = redis.call('GET', k('merge', merge_id))
  end
  return found
end

local op = ARGV[1]
if op == 'newest' then
  return newest(tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]))
elseif op == 'search' then
  return search(cjson.decode(ARGV[2]), cjson.decode(ARGV[3]), ARGV[4], tonumber(ARGV[5]),
                ARGV[6], ARGV[7], tonumber(ARGV[8]))
elseif op == 'domain' then
  return by_domain(ARGV[2], ARGV[3], tonumber(ARGV[4]))
elseif op == 'merges' then
  return merges(ARGV[2])
elseif op == 'tags' then  -- of each customer named (JSON lists): what a merge folds
  local found = {}
  for i = 2, #ARGV do
    found[#found + 1] = redis.call('HGET', k('c', ARGV[i]), 'tags') or '[]'
  end
  return found
end
return redis.error_reply('unknown customer read ' .. tostring(op))
