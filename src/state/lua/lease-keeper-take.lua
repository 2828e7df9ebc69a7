--[[
  Takes a free lease, or confirms (and renews) one the owner already has.
  KEYS[1] the lease key
  ARGV[1] the owner · ARGV[2] lease (ms)
  Returns 1 when the caller holds the lease now, 0 when someone else does.
]]
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
