--[[
  KEYS[1] waiting, KEYS[2] tickets, KEYS[3] holders of the endpoint (or a dummy); ARGV[1] ticket, ARGV[2] channel.
  Leaves the line or frees the slot; publishes so that waiters everywhere look again. Returns 1.
]]
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('ZREM', KEYS[3], ARGV[1]) == 1 then redis.call('PUBLISH', ARGV[2], '1') end
return 1
