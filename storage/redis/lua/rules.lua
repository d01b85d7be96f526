-- Keep a new version of the rules, if the newest is still the one the caller started from.
-- ARGV: the version's JSON, the expected newest version (-1: whatever it is; 0: none yet).
-- Replies {1, the new version} or {0, the newest version} (nothing written).
local versions = k('rules')
local expected = tonumber(ARGV[2])
local newest = redis.call('LLEN', versions)
if expected >= 0 and newest ~= expected then
  return {0, newest}
end
return {1, redis.call('RPUSH', versions, ARGV[1])}
