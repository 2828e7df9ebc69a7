--[[
  Takes a free key for one worker.
  KEYS[1] the key · ARGV[1] the worker's token · ARGV[2] lease (ms)
  Returns nil when taken, else the current value ('done' or another worker's token).
]]
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return false
