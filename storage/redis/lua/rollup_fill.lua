-- A backfill's cells (storage/redis/rollups.py), many per call: ARGV[1] is a JSON list of
-- [hash, field, count, total] (the hash's name after the prefix, the total as a string);
-- each adds to its cell as a commit does.
for _, cell in ipairs(cjson.decode(ARGV[1])) do
  local cells, field = P .. ':' .. cell[1], cell[2]
  if cell[3] ~= 0 then
    redis.call('HINCRBY', cells, field, cell[3])
  end
  if cell[4] ~= '0' then
    redis.call('HINCRBYFLOAT', cells, field .. '\ts', cell[4])
  end
end
return 1
