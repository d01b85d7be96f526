-- A customer's SMS opt-out (1) or opt-in (0) said at a time; an older word never replaces a
-- newer one (STOP and START may arrive out of order). ARGV: identity key, 0/1, time.
local current = redis.call('HGET', k('sms_consent'), ARGV[1])
if current then
  local at = string.match(current, '^%d (.+)$')
  if tonumber(ARGV[3]) < tonumber(at) then
    return 0
  end
end
redis.call('HSET', k('sms_consent'), ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
return 1
