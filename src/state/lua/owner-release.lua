--[[
  Releases a lock or lease if the caller owns it; never someone else's.
  KEYS[1] the lease key
  ARGV[1] the owner
  Returns 1 when released, 0 when the caller did not own it.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
