-- The fill of the rollups (storage/redis/rollups.py) is claimed by one hub at a time: the
-- `{P}:ids` field `rollups` reads "filling:<deadline>:<owner>" while a hub fills (the
-- deadline in the server's seconds, pushed on while the filler works), then "2" (FILLED).
-- ARGV: what (claim, renew, force), the owner's id, the lease in seconds. Replies 1 when the
-- caller holds the claim now, else 0.
--   claim: taken unless the cells are filled or another hub's claim is live (a lapsed one,
--          or an older hub's bare "filling", is taken over: its hub died filling);
--   renew: pushed on, if still the caller's;
--   force: taken whatever the flag says (the cells are made again by a new calendar).
local what, owner, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local flag = redis.call('HGET', k('ids'), 'rollups') or ''
local deadline, holder = string.match(flag, '^filling:([%d.]+):(.*)$')
if what == 'renew' and holder ~= owner then
  return 0
end
if what == 'claim' and (flag == '2' or (deadline and tonumber(deadline) >= now)) then
  return 0
end
redis.call('HSET', k('ids'), 'rollups', string.format('filling:%.3f:%s', now + lease, owner))
return 1
