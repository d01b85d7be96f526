-- Keep an API token under the digest of its secret. ARGV: digest, token json (without id).
-- Replies the new id, or nil when the digest is taken.
if redis.call('HEXISTS', k('tokens'), ARGV[1]) == 1 then
  return false
end
local id = redis.call('HINCRBY', k('ids'), 'token', 1)
redis.call('HSET', k('tokens'), ARGV[1], with_id(id, ARGV[2]))
return id
