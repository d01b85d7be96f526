-- Whether a live token carries the name in ARGV[1] (a person who may hold tickets, until
-- agents are stored). Tokens are few, one or two a person: reading them all is cheap.
for _, token in ipairs(redis.call('HVALS', k('tokens'))) do
  if cjson.decode(token).name == ARGV[1] then
    return 1
  end
end
return 0
