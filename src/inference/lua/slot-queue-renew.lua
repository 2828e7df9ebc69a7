--[[
  KEYS[1] holders; ARGV[1] ticket, ARGV[2] new expiry. Returns 1 while the ticket still holds its slot.
]]
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
return 0
