-- Claim the fill of the rollups (storage/redis/rollups.py) for this hub: when the `{P}:ids`
-- field `rollups` reads ARGV[1] ('' for absent), it becomes 'filling' and 1 is returned;
-- otherwise nothing changes (another hub claimed it, or the cells are up to date): 0.
if (redis.call('HGET', k('ids'), 'rollups') or '') ~= ARGV[1] then
  return 0
end
redis.call('HSET', k('ids'), 'rollups', 'filling')
return 1
